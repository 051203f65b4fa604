// What the SentencePiece tests share: libsentencepiece as the oracle, a
// comparison that runs both tokenizers on the same input and counts what it
// compared, and random text that stresses normalization and segmentation.
#pragma once
#include <doctest/doctest.h>
#include <sentencepiece_processor.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "model/sentencepiece_model.h"
#include "util/utf8.h"

namespace qtool::test {

using Oracle = sentencepiece::SentencePieceProcessor;

inline std::unique_ptr<Oracle> oracle_of(const std::string& bytes) {
  auto sp = std::make_unique<Oracle>();
  const auto status = sp->LoadFromSerializedProto(bytes);
  REQUIRE_MESSAGE(status.ok(), status.ToString());
  return sp;
}

// Bytes as a C string literal would show them, for messages.
inline std::string shown(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || u == '"' || u == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

inline std::string shown(const std::vector<std::string>& pieces) {
  std::string out = "[";
  for (const std::string& p : pieces) {
    if (out.size() > 1) out += ' ';
    out += shown(p);
  }
  return out + "]";
}

// Runs both tokenizers on the same inputs; counts what it compared and shows
// the first few differences.
struct Comparison {
  const SentencePieceModel& ours;
  const Oracle& oracle;
  std::string name;
  size_t encoded = 0, decoded = 0, differences = 0;

  void note(const std::string& what) {
    if (++differences <= 5) MESSAGE(name << ": " << what);
  }
  // encode(text), and decode of its pieces.
  void text(std::string_view text) {
    // (Where the library fails, e.g. a CONTROL piece in a BPE segmentation,
    // its pieces stay empty: so must ours.)
    std::vector<std::string> expected;
    oracle.Encode(text, &expected).IgnoreError();
    const std::vector<std::string> got = ours.encode(text);
    ++encoded;
    if (got != expected) note("encode " + shown(text) + ": " + shown(got) + ", library " + shown(expected));
    pieces(expected);
  }
  void pieces(const std::vector<std::string>& pieces) {
    std::string expected;
    oracle.Decode(pieces, &expected).IgnoreError();
    const std::string got = ours.decode(pieces);
    ++decoded;
    if (got != expected) note("decode " + shown(pieces) + ": " + shown(got) + ", library " + shown(expected));
  }
};

inline std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string utf8(char32_t cp) {
  std::string s;
  qtool::append_utf8(s, cp);
  return s;
}

// Strings that stress normalization and segmentation: random bytes (mostly
// invalid UTF-8), code points from mixed ranges, whitespace of every kind.
struct RandomText {
  std::mt19937 rng{20240611};

  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }

  std::string bytes() {
    std::string s(below(24), '\0');
    for (char& c : s) c = static_cast<char>(below(256));
    return s;
  }
  char32_t code_point() {
    static const std::vector<std::pair<char32_t, char32_t>> ranges = {
        {0x20, 0x7E},        // ASCII
        {0x20, 0x7E},        // (twice as likely)
        {0xA0, 0xFF},        // Latin-1, NBSP included
        {0x100, 0x24F},      // Latin Extended
        {0x300, 0x36F},      // combining marks
        {0x2000, 0x206F},    // general punctuation: en quad .. word joiner, zero-width spaces
        {0x2150, 0x218F},    // number forms (Ⅻ, ⅓)
        {0x2460, 0x24FF},    // enclosed alphanumerics (①)
        {0x2570, 0x259F},    // box drawing and blocks, U+2581 "▁" itself
        {0x3000, 0x303F},    // CJK punctuation, U+3000 ideographic space
        {0x3040, 0x30FF},    // kana
        {0x4E00, 0x4E80},    // CJK ideographs
        {0xAC00, 0xAC40},    // Hangul syllables
        {0xFB00, 0xFB06},    // ligatures (ﬁ)
        {0xFE30, 0xFE4F},    // CJK compatibility forms
        {0xFF00, 0xFFEF},    // full-width and half-width forms
        {0xFFF0, 0xFFFF},    // specials, U+FFFD
        {0x1F300, 0x1F64F},  // emoji
        {0x1D400, 0x1D4FF},  // mathematical alphanumerics (NFKC folds them)
    };
    static const std::vector<char32_t> spaces = {' ',    '\t',   '\n',   '\r',   0x0B,   0x0C,
                                                 0xA0,   0x1680, 0x2002, 0x2009, 0x200B, 0x202F,
                                                 0x205F, 0x3000, 0x2581, 0x85,   0};
    if (below(6) == 0) return spaces[below(spaces.size())];
    const auto& [lo, hi] = ranges[below(ranges.size())];
    return lo + static_cast<char32_t>(below(hi - lo + 1));
  }
  std::string unicode() {
    std::string s;
    for (size_t n = below(20); n > 0; --n) s += utf8(code_point());
    return s;
  }
  // A corpus line with its spaces multiplied, tabs and newlines, at its ends too.
  std::string spaced(const std::string& line) {
    static const std::vector<std::string> runs = {" ",    "  ", "   ",          "\t",
                                                  " \t ", "\n", "\xE3\x80\x80", "\xC2\xA0"};
    std::string s = below(2) ? runs[below(runs.size())] : "";
    for (const char c : line) s += c == ' ' ? runs[below(runs.size())] : std::string(1, c);
    return s + (below(2) ? runs[below(runs.size())] : "");
  }
};

// Fixed strings every model sees.
inline const std::vector<std::string> kEdgeCases = {
    "",
    " ",
    "  ",
    "\t",
    "\n",
    " \t\n ",
    "a",
    " a",
    "a ",
    "  a  b  ",
    "a\tb\nc",
    "\xE2\x96\x81",
    "\xE2\x96\x81\xE2\x96\x81"
    "a",
    "a\xE2\x96\x81 b",
    "\xEF\xBC\xA8\xEF\xBD\x85\xEF\xBD\x8C\xEF\xBD\x8C\xEF\xBD\x8F",  // ｈｅｌｌｏ
    "\xEF\xAC\x81nd",
    "\xE3\x80\x80x\xE3\x80\x80",
    "\xC2\xA0x\xC2\xA0",
    "\xFF",
    "\xC3",
    "a\xC3(b",
    "\xED\xA0\x80",
    "\xF4\x90\x80\x80",
    "\xC0\xAF",
    "\xEF\xBF\xBD",
    std::string("a\0b", 3),
    "<unk>",
    "<s>",
    "</s>",
    "<pad>",
    "<0x41>",
    "\xE2\x81\x87",
    "1234567890",
    "Ⅻ ① ½ ㍿",
    "\xF0\x9F\x98\x80\xF0\x9F\x98\x81",
    "e\xCC\x81",
    ">>deu<< Hallo"};

// Decode inputs: vocabulary pieces with pieces the model does not have,
// control, unknown and byte pieces mixed in.
inline std::vector<std::string> random_pieces(RandomText& r, const Oracle& oracle) {
  static const std::vector<std::string> extra = {"<s>",
                                                 "</s>",
                                                 "<unk>",
                                                 "<pad>",
                                                 "",
                                                 "\xE2\x96\x81",
                                                 "\xE2\x96\x81\xE2\x96\x81",
                                                 "\xE2\x96\x81x\xE2\x96\x81",
                                                 "qq\xE2\x96\x81zz",
                                                 "<0x41>",
                                                 "<0xE2>",
                                                 "<0x96>",
                                                 "<0x81>",
                                                 "<0xC3>",
                                                 "<0xA9>",
                                                 "<0xFF>",
                                                 "<0x0A>",
                                                 "<0x20>",
                                                 "<0x41",
                                                 "<0xzz>",
                                                 "\xE2\x81\x87",
                                                 " ",
                                                 "a b",
                                                 "\xFF",
                                                 "<0xF0>",
                                                 "<0x9F>",
                                                 "<0x98>",
                                                 "<0x80>"};
  std::vector<std::string> pieces;
  for (size_t n = r.below(12); n > 0; --n) {
    const size_t kind = r.below(10);
    if (kind < 6)
      pieces.push_back(oracle.IdToPiece(static_cast<int>(r.below(oracle.GetPieceSize()))));
    else if (kind < 9)
      pieces.push_back(extra[r.below(extra.size())]);
    else
      pieces.push_back(r.unicode());
  }
  return pieces;
}

// Everything but the corpus: edge cases, random strings, random pieces.
inline void compare_random(Comparison& c, RandomText& r, const std::vector<std::string>& corpus, int rounds) {
  for (const std::string& s : kEdgeCases) c.text(s);
  for (int i = 0; i < rounds; ++i) {
    c.text(r.bytes());
    c.text(r.unicode());
    if (!corpus.empty()) c.text(r.spaced(corpus[r.below(corpus.size())]));
    c.pieces(random_pieces(r, c.oracle));
  }
}

}  // namespace qtool::test
