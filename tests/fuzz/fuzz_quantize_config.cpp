// The quantization config through parse_quantize_config; an accepted config's
// normalised text (recorded in the packed model) must parse to the same config.
#include "quantize/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qtool::quantize;
  const std::string text(reinterpret_cast<const char*>(data), size);
  qtool::fuzz::expect_clean("config.json: ", [&] {
    const QuantizeConfig c = parse_quantize_config(text, "config.json");
    const QuantizeConfig again = parse_quantize_config(c.text, "config.json");
    qtool::fuzz::require(again.text == c.text, "normalised text is a fixed point");
    qtool::fuzz::require(again.has_plan == c.has_plan && again.plan.layers == c.plan.layers &&
                             again.plan.sublayers == c.plan.sublayers,
                         "normalised text gives the same plan");
    // Every override key names a linear layer the plan resolves to it.
    for (const auto& [key, p] : c.plan.layers) {
      const std::string stack = key.substr(0, key.find('.'));
      const std::string rest = key.substr(stack.size() + 1);
      const std::string index = rest.substr(0, rest.find('.')), part = rest.substr(index.size() + 1);
      const std::string module = part == "ffn" ? "fc1" : part == "cross_attn" ? "encoder_attn.q_proj" : "self_attn.q_proj";
      const std::string linear = "model." + stack + ".layers." + index + "." + module;
      qtool::fuzz::require(c.plan.of(linear) == p, "a layer override applies to its layer");
    }
  });
  return 0;
}
