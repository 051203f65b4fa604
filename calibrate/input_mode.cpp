#include "calibrate/input_mode.h"

#include "util/error.h"

namespace qtool::calibrate {

const char* input_mode_name(InputMode m) {
  switch (m) {
    case InputMode::static_range: return "static";
    case InputMode::dynamic: return "dynamic";
    case InputMode::fp32: return "fp32";
  }
  return "?";
}

InputMode parse_input_mode(const std::string& name) {
  if (name == "static") return InputMode::static_range;
  if (name == "dynamic") return InputMode::dynamic;
  if (name == "fp32") return InputMode::fp32;
  throw Error("'" + name + "' is not one of static, dynamic, fp32");
}

InputMode fallback_mode(double static_error, double dynamic_error, const FallbackRule& rule) {
  if (static_error <= rule.static_ratio * dynamic_error) return InputMode::static_range;
  return dynamic_error <= rule.fp32_error ? InputMode::dynamic : InputMode::fp32;
}

}  // namespace qtool::calibrate
