// Parsing a JSON document that must be an object, with the one-line error every
// reader gives: "<file>: not valid JSON: …" or "<file>: the top level must be a
// JSON object".
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "util/error.h"

namespace qtool {

inline nlohmann::json parse_json_object(const std::string& text, const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(file, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(file, "the top level must be a JSON object");
  return j;
}

}  // namespace qtool
