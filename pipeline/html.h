// Escaping, number formatting and lenient field access shared by the report's
// sections. Every string from results.json passes through escape_html (variant
// names come from user configs); every field may be absent or null, and then
// reads as missing ("—") instead of throwing.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace qtool::pipeline {

// What a missing number shows in the page.
inline constexpr const char* kMissing = "—";

// & < > " ' as entities; safe in text and in double- or single-quoted attributes.
std::string escape_html(std::string_view s);

// printf("%.*f"); "—" for NaN or infinity.
std::string fixed(double v, int decimals);
// 1234567 -> "1,234,567".
std::string thousands(double v);
// A number or "—".
std::string fixed_or_missing(const std::optional<double>& v, int decimals);

// The member `key` of an object, or nullptr when j is not an object, the key is
// absent or its value is null.
const nlohmann::json* member(const nlohmann::json& j, const char* key);
std::optional<double> number(const nlohmann::json& j, const char* key);
std::string text(const nlohmann::json& j, const char* key);  // "" when missing
// The array `key`, or an empty array.
const nlohmann::json& array(const nlohmann::json& j, const char* key);

// "model.decoder.layers.0.fc1" -> "decoder.layers.0.fc1": the prefix every name shares.
std::string short_tensor_name(const std::string& name);

}  // namespace qtool::pipeline
