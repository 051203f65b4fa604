// SentencePiece model files made by hand: corner cases of the format that
// trained models never show, compared with libsentencepiece where it loads
// them, and malformed files, which qtool refuses with one line naming the
// file, never a crash or a read out of bounds.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/sentencepiece_model.h"
#include "tests/error_text.h"
#include "tests/model/sentencepiece_compare.h"
#include "tests/test_paths.h"
#include "util/file.h"

using namespace qtool;
using namespace qtool::test;

namespace {

// protobuf's wire format, written.
std::string varint(uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out += static_cast<char>(0x80 | (v & 0x7f));
  return out + static_cast<char>(v);
}
std::string tag(uint32_t field, uint32_t wire_type) { return varint(uint64_t(field) << 3 | wire_type); }
std::string number(uint32_t field, uint64_t v) { return tag(field, 0) + varint(v); }
std::string bytes(uint32_t field, std::string_view b) {
  return tag(field, 2) + varint(b.size()) + std::string(b);
}
std::string real(uint32_t field, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  std::string out = tag(field, 5);
  for (int i = 0; i < 4; ++i) out += static_cast<char>(bits >> (8 * i));
  return out;
}

enum Type { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// ModelProto.pieces: one SentencePiece message.
std::string piece(std::string_view p, float score, int type = kNormal) {
  return bytes(1, bytes(1, p) + real(2, score) + (type == kNormal ? "" : number(3, type)));
}

// The pieces every hand-made model has: <unk>, <s>, </s>, the letters and a few merges.
std::string basic_pieces() {
  std::string m = piece("<unk>", 0, kUnknown) + piece("<s>", 0, kControl) + piece("</s>", 0, kControl);
  float score = -1;
  for (const char* p : {"\xE2\x96\x81", "a", "b", "x", "y",
                        "\xE2\x96\x81"
                        "a",
                        "ab",
                        "\xE2\x96\x81"
                        "ab",
                        "ba", "Y", "Z"})
    m += piece(p, score -= 0.5f);
  return m;
}

std::string trainer_spec(std::string fields) { return bytes(2, fields); }
std::string normalizer_spec(std::string fields) { return bytes(3, fields); }

// A precompiled charsmap built by hand: a darts-clone double array in which
// each node owns one 256-unit block (children at base + byte, its value at
// base + 0), then the NUL-terminated replacements.
std::string charsmap(const std::map<std::string, std::string>& rules) {
  std::vector<uint32_t> units;
  std::string strings;
  // An unused unit's label never leads to it (darts-clone's fix_block does the same).
  auto new_block = [&] {
    for (uint32_t i = 0; i < 256; ++i) units.push_back(i ^ 1);
    return static_cast<uint32_t>(units.size() - 256);
  };
  new_block();  // the root's block: the root is unit 0
  auto link = [&](uint32_t node, uint32_t base, uint32_t label, bool leaf) {
    units[node] = ((node ^ base) << 10) | (leaf ? 0x100u : 0) | label;  // offsets stay below 2^21
  };
  std::map<std::string, uint32_t> base_of;  // key prefix → its node's base
  base_of[""] = new_block();
  link(0, base_of[""], 0, false);
  for (const auto& [key, value] : rules)
    for (size_t n = 1; n <= key.size(); ++n) {
      const std::string prefix = key.substr(0, n);
      if (!base_of.count(prefix)) base_of[prefix] = new_block();
      const auto c = static_cast<unsigned char>(key[n - 1]);
      const uint32_t node = base_of[key.substr(0, n - 1)] + c;
      const bool leaf = rules.count(prefix) > 0;
      link(node, base_of[prefix], c, leaf);
      if (n == key.size()) {
        units[base_of[prefix]] = 0x80000000u | static_cast<uint32_t>(strings.size());
        strings += value;
        strings += '\0';
      }
    }
  std::string blob;
  const uint32_t trie_bytes = static_cast<uint32_t>(units.size() * 4);
  for (int i = 0; i < 4; ++i) blob += static_cast<char>(trie_bytes >> (8 * i));
  for (const uint32_t u : units)
    for (int i = 0; i < 4; ++i) blob += static_cast<char>(u >> (8 * i));
  return blob + strings;
}

// Both tokenizers on strings made of the model's own characters.
void compare_hand_made(const std::string& model, const std::string& name) {
  const SentencePieceModel ours(model, name);
  const auto oracle = oracle_of(model);
  Comparison c{ours, *oracle, name};
  for (const std::string& s : kEdgeCases) c.text(s);
  const std::vector<std::string> alphabet = {"a",   "b",   "x",    "y",  "ab",
                                             "abc", " ",   "  ",   "\t", "\xE2\x96\x81",
                                             "Y",   "<s>", "\xC3", "z",  "\xEF\xBC\xA1"};
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    for (int n = int(rng() % 12); n > 0; --n) s += alphabet[rng() % alphabet.size()];
    c.text(s);
    std::vector<std::string> p;
    for (int n = int(rng() % 6); n > 0; --n) p.push_back(alphabet[rng() % alphabet.size()]);
    c.pieces(p);
  }
  CHECK(c.encoded > 2000);
  CHECK_MESSAGE(c.differences == 0, name);
}

std::string refusal(const std::string& model) {
  return error_text([&] { SentencePieceModel m(model, "m.spm"); });
}

}  // namespace

TEST_CASE("sentencepiece files: hand-made models encode and decode as libsentencepiece does") {
  const std::string base = basic_pieces();
  // No trainer_spec or normalizer_spec at all: proto defaults (unigram, dummy prefix, whitespace rules).
  compare_hand_made(base, "defaults");
  compare_hand_made(base + trainer_spec(number(3, 2)), "bpe");
  compare_hand_made(base + normalizer_spec(number(3, 0) + number(4, 0)), "no dummy prefix, whitespace kept");
  compare_hand_made(base + normalizer_spec(number(5, 0)), "whitespace not escaped");
  compare_hand_made(base + trainer_spec(number(24, 1)), "whitespace as suffix");
  // A charsmap of our own: longest match ("abc" over "ab"), a deletion, a
  // multi-character replacement, full-width A, tab and ideographic space → " ".
  const std::string map = charsmap({{"ab", "Y"},
                                    {"abc", "ZY"},
                                    {"x", ""},
                                    {"y", "ba"},
                                    {"\xEF\xBC\xA1", "a"},
                                    {"\t", " "},
                                    {"\xE3\x80\x80", " "}});
  compare_hand_made(base + normalizer_spec(bytes(2, map)), "hand-made charsmap");
  compare_hand_made(base + normalizer_spec(bytes(2, map)) + trainer_spec(number(3, 2)),
                    "hand-made charsmap, bpe");
  // A denormalizer: Decode's text goes through it (its proto defaults add a dummy prefix).
  compare_hand_made(base + bytes(5, bytes(2, charsmap({{"a", "A"}})) + number(4, 0)), "denormalizer");
  // User-defined symbols pass the charsmap unchanged and always win.
  compare_hand_made(base + piece("abc", 0, kUserDefined) + normalizer_spec(bytes(2, map)),
                    "user-defined over charsmap");
  compare_hand_made(
      base + piece("xy", 0, kUserDefined) + piece("<s>", 0, kUserDefined) + trainer_spec(number(3, 2)),
      "bpe, user-defined also a control piece");
  // UNUSED pieces: never chosen by unigram; BPE merges through them and splits them back.
  compare_hand_made(base + piece("aba", -0.1f, kUnused) + piece("abab", -0.05f, kUnused), "unigram, unused");
  compare_hand_made(base + piece("aba", -0.1f, kUnused) + piece("abab", -0.05f) + trainer_spec(number(3, 2)),
                    "bpe, unused");
  // The same bytes as a NORMAL and a CONTROL piece (two tables); equal scores (ties).
  compare_hand_made(base + piece("<s>", -1) + piece("bb", -2) +
                        piece("\xE2\x96\x81"
                              "b",
                              -2),
                    "normal and control, ties");
  // A single character that is a CONTROL piece: the library's BPE Encode fails, its pieces stay empty.
  compare_hand_made(base + piece("z", 0, kControl) + trainer_spec(number(3, 2)), "bpe, control character");
  // unk_surface set (with a NUL: the library copies it as a C string), and empty.
  compare_hand_made(base + trainer_spec(bytes(44, std::string("?\0!", 3))), "unk_surface with NUL");
  compare_hand_made(base + trainer_spec(bytes(44, "")), "empty unk_surface");
  // Byte fallback: all 256 byte pieces.
  std::string with_bytes = base + trainer_spec(number(35, 1));
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    with_bytes += piece(name, 0, kByte);
  }
  compare_hand_made(with_bytes, "byte fallback");
  compare_hand_made(with_bytes + trainer_spec(number(3, 2)), "byte fallback, bpe");
  // protobuf's rules: unknown fields and groups skipped, an undefined enum value
  // ignored, a field with another wire type kept aside, a repeated message merged.
  compare_hand_made(base + number(77, 5) + tag(9, 3) + number(1, 1) + tag(9, 4) + bytes(3, "") +
                        bytes(1, bytes(1, "bab") + number(3, 9)) + trainer_spec(number(3, 7)) +
                        trainer_spec(real(3, 2.0f)) + normalizer_spec(number(3, 0)) +
                        normalizer_spec(number(4, 0)),
                    "unknown fields");

  // The cases above did what they are there for.
  auto joined = [](const std::vector<std::string>& pieces) {
    std::string s;
    for (const std::string& p : pieces) s += p;
    return s;
  };
  const std::string space = "\xE2\x96\x81";
  CHECK(joined(SentencePieceModel(base + normalizer_spec(bytes(2, map)), "m").encode("abc\txab")) ==
        space + "ZY" + space + "Y");
  CHECK(SentencePieceModel(base + piece("z", 0, kControl) + trainer_spec(number(3, 2)), "m")
            .encode("az")
            .empty());
  CHECK(SentencePieceModel(base + trainer_spec(bytes(44, std::string("?\0!", 3))), "m").decode({"<unk>"}) ==
        "?");
  CHECK(SentencePieceModel(base + bytes(5, bytes(2, charsmap({{"a", "A"}})) + number(4, 0)), "m")
            .decode({"a"}) == space + "A");
  CHECK(SentencePieceModel(with_bytes, "m").encode("\xC3\xA9") ==
        std::vector<std::string>{space, "<0xC3>", "<0xA9>"});
}

TEST_CASE("sentencepiece files: malformed models are refused with the file named") {
  const std::string base = basic_pieces();
  auto refused = [&](const std::string& model, const std::string& what) {
    const std::string e = refusal(model);
    CHECK_MESSAGE(e.rfind("m.spm: ", 0) == 0, e);
    CHECK_MESSAGE(e.find(what) != std::string::npos, e);
    CHECK(e.find('\n') == std::string::npos);
  };
  refused("", "not a SentencePiece model: no pieces");
  refused("not a model", "not a SentencePiece model: ModelProto: wire type 6");
  refused(base + piece("", 0), "empty piece");
  refused(base + piece("a", 0), "'a' is already defined");
  refused(base + piece("<unk2>", 0, kUnknown), "a second UNKNOWN piece");
  refused(piece("a", 0), "no piece of type UNKNOWN");
  refused(base + piece("<0x41>", 0, kByte), "trainer_spec.byte_fallback is false");
  refused(base + trainer_spec(number(35, 1)) + piece("<0x41>", 0, kByte), "byte piece <0x00> is missing");
  refused(base + trainer_spec(number(35, 1)) + piece("<0x4g>", 0, kByte), "is not <0xXX>");
  refused(base + trainer_spec(number(3, 3)), "trainer_spec.model_type: WORD models are not supported");
  refused(base + trainer_spec(number(3, 4)), "trainer_spec.model_type: CHAR models are not supported");
  refused(base + piece(std::string("a\0b", 3), 0), "NUL byte");
  refused(base + tag(1, 2) + varint(1000), "field of 1000 bytes past the end");
  refused(base.substr(0, base.size() - 1), "past the end");
  refused(base + tag(9, 3) + number(1, 1), "unterminated group");
  refused(base + tag(9, 4), "wire type 4");
  refused(base + std::string(11, '\xff'), "varint longer than 10 bytes");
  // Every library refusal of a piece table is also ours (and both load the rest).
  for (const std::string& model : {base + piece("", 0), base + piece("a", 0), piece("a", 0)}) {
    Oracle o;
    CHECK_FALSE(o.LoadFromSerializedProto(model).ok());
  }

  // Charsmaps that point outside themselves.
  const std::string good = charsmap({{"ab", "Y"}, {"x", "zz"}});
  auto with_map = [&](const std::string& m) { return base + normalizer_spec(bytes(2, m)); };
  CHECK(refusal(with_map(good)) == "(no error)");
  const std::string field = "normalizer_spec.precompiled_charsmap";
  refused(with_map("abc"), field + ": 3 bytes, too short");
  refused(with_map(std::string("\xff\x00\x00\x00zzzz", 8)), field + ": trie of 255 bytes");
  refused(with_map(std::string("\x00\x00\x00\x00zzzz", 8)), field + ": trie node 0 points outside");
  auto unit_at = [](std::string m, size_t index, uint32_t u) {
    for (int i = 0; i < 4; ++i) m[4 + index * 4 + i] = static_cast<char>(u >> (8 * i));
    return m;
  };
  // The root's children beyond the last unit.
  refused(with_map(unit_at(good, 0, 0xFFFFu << 10)), field + ": trie node 0 points outside");
  // "x"'s node (root block 256 + 'x') sends its children outside.
  refused(with_map(unit_at(good, 256 + 'x', (0x3FFFu << 10) | 0x100 | 'x')), "points outside");
  // "x"'s value: past the replacement strings.
  std::string bad_value = good;
  uint32_t trie_bytes;
  std::memcpy(&trie_bytes, good.data(), 4);
  for (uint32_t i = 0; i < trie_bytes / 4; ++i) {
    uint32_t u;
    std::memcpy(&u, good.data() + 4 + i * 4, 4);
    if (u & 0x80000000u) bad_value = unit_at(bad_value, i, 0x80000000u | 5000);
  }
  refused(with_map(bad_value), field + ": replacement offset 5000 outside");
  // "x"'s base made the root's (256 = its index 376 ^ offset 'x'): a cycle back to "x".
  refused(with_map(unit_at(good, 256 + 'x', (uint32_t('x') << 10) | 0x100 | 'x')), "trie has a cycle through node 376");
  refused(base + bytes(5, bytes(2, "abc")), "denormalizer_spec.precompiled_charsmap: 3 bytes");
}

TEST_CASE("sentencepiece files: truncated and mutated kit models never crash") {
  std::string model = read_text_file(bundled_model() + "/source.spm");
  // Truncated: refused exactly when the library refuses (a cut at a field boundary loads).
  for (size_t cut : {size_t(0), size_t(1), size_t(2), size_t(10), size_t(100), size_t(1000), model.size() / 2,
                     model.size() - 1000, model.size() - 1}) {
    const std::string part = model.substr(0, cut);
    Oracle o;
    const bool library_loads = o.LoadFromSerializedProto(part).ok();
    const std::string e = refusal(part);
    CHECK_MESSAGE((e == "(no error)") == library_loads, cut << ": " << e);
    if (!library_loads) CHECK(e.rfind("m.spm: ", 0) == 0);
  }
  // Random bytes and random mutations: a refusal naming the file, or a model
  // that then encodes and decodes (under the sanitizers: without a bad read).
  std::mt19937 rng(11);
  int loaded = 0, refused = 0;
  for (int i = 0; i < 300; ++i) {
    std::string m;
    if (i % 3 == 0) {
      m.resize(rng() % 200);
      for (char& c : m) c = static_cast<char>(rng());
    } else {
      m = model;
      for (int n = 1 + int(rng() % 4); n > 0; --n) m[rng() % m.size()] = static_cast<char>(rng());
    }
    try {
      const SentencePieceModel s(m, "m.spm");
      for (const std::string& text : kEdgeCases) s.decode(s.encode(text));
      ++loaded;
    } catch (const Error& e) {
      CHECK(std::string(e.what()).rfind("m.spm: ", 0) == 0);
      ++refused;
    }
  }
  MESSAGE(loaded << " mutated models loaded, " << refused << " refused");
  CHECK(refused > 0);
  CHECK(loaded > 0);
}
