// sacreBLEU's 13a tokenizer, rule by rule. sacreBLEU applies Python regexes to
// str (Unicode code points), so the text is decoded to code points first; its
// character classes are all ASCII, but "not a digit" and whitespace are Unicode.
#include <string>
#include <vector>

#include "eval/bleu.h"
#include "util/utf8.h"

namespace qtool::eval {
namespace {

using U32 = std::u32string;

U32 decode_utf8(const std::string& s) {
  U32 out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const unsigned char cc = s[i + k];
      ok = (cc & 0xc0) == 0x80;
      cp = cp << 6 | (cc & 0x3f);
    }
    if (!ok) {  // undecodable byte → U+FFFD, one byte consumed
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string encode_utf8(const U32& s) {
  std::string out;
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

// Python's str.isspace(), which str.split() and str.rstrip() use.
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}
bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_period_comma(char32_t c) { return c == '.' || c == ','; }

// [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII punctuation and symbols, each set apart.
bool is_split_symbol(char32_t c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// Python's str.replace: every non-overlapping match, left to right. Built in one
// pass: replacing in place moved the tail once per match, quadratic on a line
// full of "&quot;" (found by fuzz_bleu).
void replace_all(U32& s, const U32& from, const U32& to) {
  U32 out;
  size_t at = 0;
  for (size_t p = s.find(from); p != U32::npos; p = s.find(from, at)) {
    out.append(s, at, p - at);
    out += to;
    at = p + from.size();
  }
  if (at == 0) return;  // no match
  out.append(s, at);
  s = std::move(out);
}

// re.sub of a two-character pattern (first, second) → parts, left to right, non-overlapping.
template <class First, class Second>
U32 sub_pairs(const U32& s, First first, Second second, bool space_before, bool space_between,
              bool space_after) {
  U32 out;
  for (size_t i = 0; i < s.size();) {
    if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
      if (space_before) out += U' ';
      out += s[i];
      if (space_between) out += U' ';
      out += s[i + 1];
      if (space_after) out += U' ';
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return out;
}

}  // namespace

std::string tokenize_13a(const std::string& text) {
  U32 line = decode_utf8(text);
  while (!line.empty() && is_space(line.back())) line.pop_back();  // BLEU's sent.rstrip()
  replace_all(line, U"<skipped>", U"");
  replace_all(line, U"-\n", U"");
  replace_all(line, U"\n", U" ");
  if (line.find(U'&') != U32::npos) {
    replace_all(line, U"&quot;", U"\"");
    replace_all(line, U"&amp;", U"&");
    replace_all(line, U"&lt;", U"<");
    replace_all(line, U"&gt;", U">");
  }
  U32 spaced = U" ";
  for (char32_t c : line) {
    if (is_split_symbol(c)) {
      spaced += U' ';
      spaced += c;
      spaced += U' ';
    } else {
      spaced += c;
    }
  }
  spaced += U' ';
  auto not_digit = [](char32_t c) { return !is_digit(c); };
  auto dash = [](char32_t c) { return c == '-'; };
  // ([^0-9])([\.,]) → "\1 \2 ": period and comma unless preceded by a digit
  spaced = sub_pairs(spaced, not_digit, is_period_comma, false, true, true);
  // ([\.,])([^0-9]) → " \1 \2": period and comma unless followed by a digit
  spaced = sub_pairs(spaced, is_period_comma, not_digit, true, true, false);
  // ([0-9])(-) → "\1 \2 ": a dash after a digit
  spaced = sub_pairs(spaced, is_digit, dash, false, true, true);
  // ' '.join(line.split())
  U32 out;
  for (size_t i = 0; i < spaced.size();) {
    while (i < spaced.size() && is_space(spaced[i])) ++i;
    size_t j = i;
    while (j < spaced.size() && !is_space(spaced[j])) ++j;
    if (j > i) {
      if (!out.empty()) out += U' ';
      out.append(spaced, i, j - i);
    }
    i = j;
  }
  return encode_utf8(out);
}

}  // namespace qtool::eval
