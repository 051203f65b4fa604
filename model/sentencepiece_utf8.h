// UTF-8 as libsentencepiece reads it (src/util.h, util.cc), which the
// tokenizer must follow byte for byte: how long a character is by its lead
// byte alone, and when a character decodes (no overlong forms, no surrogates,
// nothing above U+10FFFF).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qtool::spm_utf8 {

inline constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";  // "▁", U+2581
inline constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

// Bytes of the character that starts with `lead`, from the lead byte alone
// (a stray continuation byte counts 1; 0xF8-0xFF count 4): OneCharLen.
inline size_t char_length(unsigned char lead) {
  return lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// The bytes of the character that `text` (non-empty) starts with if it
// decodes, else 0 (an undecodable byte, which callers take alone).
inline size_t decodable_length(std::string_view text) {
  auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  auto trail = [&](size_t i) { return (at(i) & 0xC0) == 0x80; };
  auto valid = [](uint32_t cp) { return cp < 0xD800 || (cp >= 0xE000 && cp <= 0x10FFFF); };
  const unsigned char b0 = at(0);
  if (b0 < 0x80) return 1;
  if (text.size() >= 2 && (b0 & 0xE0) == 0xC0) {
    const uint32_t cp = (b0 & 0x1Fu) << 6 | (at(1) & 0x3Fu);
    return trail(1) && cp >= 0x80 && valid(cp) ? 2 : 0;
  }
  if (text.size() >= 3 && (b0 & 0xF0) == 0xE0) {
    const uint32_t cp = (b0 & 0x0Fu) << 12 | (at(1) & 0x3Fu) << 6 | (at(2) & 0x3Fu);
    return trail(1) && trail(2) && cp >= 0x800 && valid(cp) ? 3 : 0;
  }
  if (text.size() >= 4 && (b0 & 0xF8) == 0xF0) {
    const uint32_t cp = (b0 & 0x07u) << 18 | (at(1) & 0x3Fu) << 12 | (at(2) & 0x3Fu) << 6 | (at(3) & 0x3Fu);
    return trail(1) && trail(2) && trail(3) && cp >= 0x10000 && valid(cp) ? 4 : 0;
  }
  return 0;
}

}  // namespace qtool::spm_utf8
