#include "quantize/config.h"

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace qtool::quantize {
using nlohmann::json;

namespace {
void only_keys(const json& j, const std::string& path, std::initializer_list<const char*> keys,
               const std::string& file) {
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* key : keys) known |= k == key;
    if (!known) {
      std::string list;
      for (const char* key : keys) list += std::string(list.empty() ? "" : ", ") + key;
      fail(file, path + k + ": unknown key (expected one of: " + list + ")");
    }
  }
}
std::string choice(const json& j, const char* key, const std::string& path,
                   std::initializer_list<const char*> allowed, const std::string& fallback, const std::string& file) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  for (const char* a : allowed)
    if (v.is_string() && v.get<std::string>() == a) return a;
  std::string list;
  for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + "\"" + a + "\"";
  fail(file, path + key + ": " + v.dump() + " is not one of " + list);
}
}  // namespace

QuantizeConfig parse_quantize_config(const std::string& text, const std::string& file) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(file, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(file, "the top level must be a JSON object");
  only_keys(j, "", {"version", "int8", "description"}, file);
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != 1)
    fail(file, "version: must be 1");
  if (j.contains("description") && !j["description"].is_string()) fail(file, "description: must be a string");
  QuantizeConfig c;
  if (!j.contains("int8") || !j["int8"].is_object()) fail(file, "int8: required, an object");
  const json& q = j["int8"];
  only_keys(q, "int8.", {"weights", "activations", "output_projection", "embeddings"}, file);
  c.int8.weight_type = choice(q, "weights", "int8.", {"per_channel", "per_tensor"}, "per_channel", file) == "per_tensor"
                           ? QType::int8_per_tensor
                           : QType::int8_per_channel;
  c.activations = choice(q, "activations", "int8.", {"dynamic", "static"}, "dynamic", file);
  if (q.contains("output_projection")) {
    if (!q["output_projection"].is_boolean()) fail(file, "int8.output_projection: must be true or false");
    c.int8.output_projection = q["output_projection"].get<bool>();
  }
  if (q.contains("embeddings")) {
    if (!q["embeddings"].is_boolean()) fail(file, "int8.embeddings: must be true or false");
    c.int8.embeddings = q["embeddings"].get<bool>();
  }
  c.text = j.dump();
  return c;
}

}  // namespace qtool::quantize
