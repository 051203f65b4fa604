#include "calibrate/calibration_file.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/json.h"

namespace qtool::calibrate {
using nlohmann::json;

std::map<std::string, CalibratedInput> Calibration::inputs(bool fallbacks) const {
  std::map<std::string, CalibratedInput> m;
  for (const auto& [name, s] : tensors)
    if (!fallbacks || s.int8_input == InputMode::static_range)
      m[name] = s.range();
  return m;
}

std::map<std::string, InputMode> Calibration::int8_modes() const {
  std::map<std::string, InputMode> m;
  for (const auto& [name, s] : tensors) m[name] = s.int8_input;
  return m;
}

std::string to_json(const Calibration& c) {
  json t = json::object();
  for (const auto& [name, s] : c.tensors) {
    t[name] = {{"threshold", s.threshold}, {"max_abs", s.max_abs}, {"mean_abs", s.mean_abs}, {"min", s.min},
               {"max", s.max},             {"one_sided", s.one_sided}, {"count", s.count}};
    if (s.asymmetric) t[name]["zero_point"] = s.zero_point;
    if (!s.chosen_by.empty()) t[name]["chosen_by"] = s.chosen_by;
    if (s.clipped_fraction >= 0) t[name]["clipped_fraction"] = s.clipped_fraction;
    if (s.static_error >= 0 && s.dynamic_error >= 0) {
      t[name]["output_error"] = {{"static", s.static_error}, {"dynamic", s.dynamic_error}};
      t[name]["int8_input"] = input_mode_name(s.int8_input);
    }
    if (!s.column_mean_square.empty()) {
      // 7 significant digits: the shortest form of the double then stays short.
      json a = json::array();
      for (float v : s.column_mean_square) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.7g", double(v));
        a.push_back(std::strtod(buf, nullptr));
      }
      t[name]["column_mean_square"] = std::move(a);
    }
    if (!s.histogram_counts.empty())
      t[name]["histogram"] = {{"range", s.histogram_range}, {"counts", s.histogram_counts}};
  }
  json j = {{"format", "qtool-calibration"}, {"version", 2},          {"model_checksum", c.model_checksum},
            {"method", method_name(c.method)}, {"bins", c.bins},       {"percentile", c.percentile},
            {"sentences", c.sentences},       {"tensors", t}};
  return j.dump(1) + "\n";
}

Calibration parse_calibration(const std::string& text, const std::string& file) {
  const json j = parse_json_object(text, file);
  auto need = [&](const char* key) -> const json& {
    if (!j.contains(key)) fail(file, std::string("missing field '") + key + "'");
    return j.at(key);
  };
  if (need("format") != "qtool-calibration") fail(file, "format: must be \"qtool-calibration\"");
  if (!need("version").is_number_integer() || j["version"].get<int64_t>() < 1 || j["version"].get<int64_t>() > 2)
    fail(file, "version: " + j["version"].dump() + " is not supported (this qtool reads versions 1 and 2)");
  const int64_t version = j["version"];
  Calibration c;
  if (!need("model_checksum").is_string()) fail(file, "model_checksum: must be a string");
  c.model_checksum = j["model_checksum"];
  if (!need("method").is_string()) fail(file, "method: must be a string");
  try {
    c.method = parse_method(j["method"]);
  } catch (const Error& e) {
    fail(file, std::string("method: ") + e.what());
  }
  if (j.contains("sentences") && j["sentences"].is_number_integer()) c.sentences = j["sentences"];
  const json& t = need("tensors");
  if (!t.is_object() || t.empty()) fail(file, "tensors: must be a non-empty object");
  for (const auto& [name, v] : t.items()) {
    if (!v.is_object() || !v.contains("threshold") || !v["threshold"].is_number())
      fail(file, "tensors." + name + ".threshold: missing or not a number");
    TensorStats s;
    s.threshold = v["threshold"];
    if (!valid_threshold(s.threshold))
      fail(file, "tensors." + name + ".threshold: " + v["threshold"].dump() + " is not a positive number in [1e-30, 1e30]");
    if (v.contains("max_abs") && v["max_abs"].is_number()) s.max_abs = v["max_abs"];
    if (v.contains("mean_abs") && v["mean_abs"].is_number()) s.mean_abs = v["mean_abs"];
    if (v.contains("count") && v["count"].is_number_integer()) s.count = v["count"];
    if (v.contains("min") && v["min"].is_number()) s.min = v["min"];
    if (v.contains("max") && v["max"].is_number()) s.max = v["max"];
    if (v.contains("one_sided")) {
      if (!v["one_sided"].is_boolean()) fail(file, "tensors." + name + ".one_sided: must be true or false");
      s.one_sided = v["one_sided"];
    }
    s.asymmetric = version == 1 && s.one_sided;  // version 1: one-sided inputs were u8 over [0, T]
    if (v.contains("zero_point")) {
      const json& z = v["zero_point"];
      if (!z.is_number_integer() || z.get<int64_t>() < 0 || z.get<int64_t>() > kMaxZeroPoint)
        fail(file, "tensors." + name + ".zero_point: " + z.dump() + " is not an integer in 0.." +
                       std::to_string(kMaxZeroPoint));
      s.asymmetric = true;
      s.zero_point = z.get<int32_t>();
    }
    if (v.contains("chosen_by")) {
      if (!v["chosen_by"].is_string()) fail(file, "tensors." + name + ".chosen_by: must be a string");
      s.chosen_by = v["chosen_by"];
    }
    if (v.contains("clipped_fraction")) {
      const json& f = v["clipped_fraction"];
      if (!f.is_number() || !(f.get<double>() >= 0.0 && f.get<double>() <= 1.0))
        fail(file, "tensors." + name + ".clipped_fraction: " + f.dump() + " is not a number in [0, 1]");
      s.clipped_fraction = f;
    }
    if (v.contains("output_error")) {
      const json& e = v["output_error"];
      const std::string path = "tensors." + name + ".output_error";
      auto error = [&](const char* key) {
        if (!e.is_object() || !e.contains(key) || !e[key].is_number() || !(e[key].get<double>() >= 0.0) ||
            !std::isfinite(e[key].get<double>()))
          fail(file, path + "." + key + ": missing or not a finite number >= 0");
        return e[key].get<double>();
      };
      s.static_error = error("static");
      s.dynamic_error = error("dynamic");
    }
    if (v.contains("int8_input")) {
      if (!v["int8_input"].is_string()) fail(file, "tensors." + name + ".int8_input: must be a string");
      try {
        s.int8_input = parse_input_mode(v["int8_input"]);
      } catch (const Error& e) {
        fail(file, "tensors." + name + ".int8_input: " + e.what());
      }
    }
    if (v.contains("column_mean_square")) {
      const json& a = v["column_mean_square"];
      const std::string path = "tensors." + name + ".column_mean_square";
      if (!a.is_array() || a.empty()) fail(file, path + ": must be a non-empty array of numbers");
      s.column_mean_square.reserve(a.size());
      for (size_t i = 0; i < a.size(); ++i) {
        const double x = a[i].is_number() ? a[i].get<double>() : NAN;
        if (!std::isfinite(x) || x < 0 || x > std::numeric_limits<float>::max())
          fail(file, path + "[" + std::to_string(i) + "]: " + a[i].dump() + " is not a finite number >= 0");
        s.column_mean_square.push_back(float(x));
      }
    }
    if (v.contains("histogram")) {
      const json& h = v["histogram"];
      const std::string path = "tensors." + name + ".histogram";
      if (!h.is_object() || !h.contains("range") || !h["range"].is_number() || !h.contains("counts") ||
          !h["counts"].is_array())
        fail(file, path + ": must be {\"range\": number, \"counts\": [integers]}");
      s.histogram_range = h["range"];
      if (!std::isfinite(s.histogram_range) || s.histogram_range <= 0 || s.histogram_range > 1e30)
        fail(file, path + ".range: " + h["range"].dump() + " is not a positive finite number");
      for (size_t i = 0; i < h["counts"].size(); ++i) {
        const json& n = h["counts"][i];
        if (!n.is_number_unsigned() || n.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
          fail(file, path + ".counts[" + std::to_string(i) + "]: " + n.dump() + " is not a count");
        s.histogram_counts.push_back(n.get<int64_t>());
      }
    }
    c.tensors[name] = s;
  }
  return c;
}

}  // namespace qtool::calibrate
