#include "pipeline/html.h"

#include <cmath>
#include <cstdio>

namespace qtool::pipeline {

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return kMissing;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string thousands(double v) {
  if (!std::isfinite(v)) return kMissing;
  std::string digits = fixed(std::fabs(std::round(v)), 0), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "−" + out : out;
}

std::string fixed_or_missing(const std::optional<double>& v, int decimals) {
  return v ? fixed(*v, decimals) : kMissing;
}

const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> number(const nlohmann::json& j, const char* key) {
  const nlohmann::json* m = member(j, key);
  if (!m || !m->is_number()) return std::nullopt;
  double v = m->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::string text(const nlohmann::json& j, const char* key) {
  const nlohmann::json* m = member(j, key);
  if (!m) return "";
  if (m->is_string()) return m->get<std::string>();
  return m->dump();
}

const nlohmann::json& array(const nlohmann::json& j, const char* key) {
  static const nlohmann::json empty = nlohmann::json::array();
  const nlohmann::json* m = member(j, key);
  return m && m->is_array() ? *m : empty;
}

std::string short_tensor_name(const std::string& name) {
  return name.rfind("model.", 0) == 0 ? name.substr(6) : name;
}

}  // namespace qtool::pipeline
