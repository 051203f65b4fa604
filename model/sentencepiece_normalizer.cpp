#include "model/sentencepiece_normalizer.h"

#include <bit>
#include <cstring>
#include <vector>

#include "model/sentencepiece_utf8.h"
#include "util/error.h"

namespace qtool {
namespace {

// A double-array unit's parts (darts-clone's DoubleArrayUnit).
bool has_leaf(uint32_t u) { return (u >> 8) & 1; }
uint32_t value_of(uint32_t u) { return u & 0x7FFFFFFFu; }
uint32_t label_of(uint32_t u) { return u & 0x800000FFu; }
uint32_t offset_of(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

// libsentencepiece's trie search keeps at most this many matches (kMaxTrieResultsSize).
constexpr int kMaxMatches = 32;

[[noreturn]] void refuse(const std::string& file, const std::string& field, const std::string& what) {
  fail(file, "not a SentencePiece model: " + field + ": " + what);
}

}  // namespace

SentencePieceNormalizer::SentencePieceNormalizer(const NormalizerSpec& spec, bool treat_whitespace_as_suffix,
                                                 const std::string& file, const std::string& field)
    : add_dummy_prefix_(spec.add_dummy_prefix),
      remove_extra_whitespaces_(spec.remove_extra_whitespaces),
      escape_whitespaces_(spec.escape_whitespaces),
      treat_whitespace_as_suffix_(treat_whitespace_as_suffix) {
  const std::string_view blob = spec.precompiled_charsmap;
  if (blob.empty()) return;  // no character rewriting, only the whitespace rules
  if (blob.size() <= 4) refuse(file, field, std::to_string(blob.size()) + " bytes, too short");
  const uint32_t trie_bytes = uint32_t(uint8_t(blob[0])) | uint32_t(uint8_t(blob[1])) << 8 |
                              uint32_t(uint8_t(blob[2])) << 16 | uint32_t(uint8_t(blob[3])) << 24;
  if (trie_bytes > blob.size() - 4)
    refuse(file, field,
           "trie of " + std::to_string(trie_bytes) + " bytes in a map of " + std::to_string(blob.size()));
  charsmap_.assign(blob);
  units_ = trie_bytes / 4;
  strings_begin_ = 4 + size_t(trie_bytes);
  check_trie(file, field);
}

uint32_t SentencePieceNormalizer::unit(uint32_t i) const {
  // check_trie() keeps every reachable index inside; outside, a unit no byte reaches.
  if (i >= units_) return 0xFFFFFFFFu;
  uint32_t u;
  std::memcpy(&u, charsmap_.data() + 4 + size_t(i) * 4, 4);
  if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap32(u);
  return u;
}

void SentencePieceNormalizer::check_trie(const std::string& file, const std::string& field) const {
  const size_t strings = charsmap_.size() - strings_begin_;
  // The base of `node`: where its children (base ^ byte) and its value unit
  // (base itself) lie. Every node input bytes can reach must have its base
  // inside the trie, and each value must point into the replacement strings.
  auto base_of = [&](uint32_t node) {
    const uint32_t base = node ^ offset_of(unit(node));
    if (node >= units_ || (base | 0xFFu) >= units_)
      refuse(file, field,
             "trie node " + std::to_string(node) + " points outside its " + std::to_string(units_) + " units");
    return base;
  };
  // A depth-first walk. darts-clone shares common suffixes (a node may have
  // several parents) but never makes a cycle, which a crafted map could, to
  // make matching walk as long as the text.
  enum : uint8_t { kUnseen, kOnPath, kDone };
  std::vector<uint8_t> state(units_, kUnseen);
  struct Frame {
    uint32_t node, base, next_byte;
  };
  std::vector<Frame> path = {{UINT32_MAX, base_of(0), 0}};  // the root is unit 0
  while (!path.empty()) {
    Frame& f = path.back();
    if (f.next_byte == 256) {
      if (f.node != UINT32_MAX) state[f.node] = kDone;
      path.pop_back();
      continue;
    }
    const uint32_t c = f.next_byte++;
    const uint32_t child = f.base ^ c;
    if (label_of(unit(child)) != c || state[child] == kDone) continue;
    if (state[child] == kOnPath) refuse(file, field, "trie has a cycle through node " + std::to_string(child));
    state[child] = kOnPath;
    const uint32_t child_base = base_of(child);
    if (has_leaf(unit(child)) && value_of(unit(child_base)) >= strings)
      refuse(file, field,
             "replacement offset " + std::to_string(value_of(unit(child_base))) + " outside its " +
                 std::to_string(strings) + " bytes of strings");
    path.push_back({child, child_base, 0});
  }
}

std::pair<std::string_view, size_t> SentencePieceNormalizer::normalize_prefix(
    std::string_view text, const PieceTable* user_symbols) const {
  // A user-defined symbol is kept as it is, whatever the charsmap says.
  if (user_symbols)
    if (const size_t n = user_symbols->longest_user_defined_prefix(text)) return {text.substr(0, n), n};
  // The longest charsmap entry that `text` starts with.
  size_t longest = 0;
  uint32_t replacement = 0;
  if (units_ > 0) {
    uint32_t base = offset_of(unit(0));
    int matches = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      const uint32_t node = base ^ c;
      const uint32_t u = unit(node);
      if (label_of(u) != c) break;
      base = node ^ offset_of(u);
      if (has_leaf(u) && matches++ < kMaxMatches) {
        longest = i + 1;
        replacement = value_of(unit(base));
      }
    }
  }
  if (longest > 0) {
    // NUL-terminated, or ended by the end of the map.
    const std::string_view strings = std::string_view(charsmap_).substr(strings_begin_);
    const std::string_view rest = strings.substr(std::min<size_t>(replacement, strings.size()));
    return {rest.substr(0, rest.find('\0')), longest};
  }
  // No entry: the character unchanged, or U+FFFD for one undecodable byte.
  if (const size_t n = spm_utf8::decodable_length(text)) return {text.substr(0, n), n};
  return {spm_utf8::kReplacement, 1};
}

std::string SentencePieceNormalizer::normalize(std::string_view text, const PieceTable* user_symbols) const {
  std::string out;
  if (text.empty()) return out;
  if (remove_extra_whitespaces_) {  // leading whitespace (whatever the charsmap turns into " ")
    while (!text.empty()) {
      const auto [normalized, taken] = normalize_prefix(text, user_symbols);
      if (normalized != " ") break;
      text.remove_prefix(taken);
    }
    if (text.empty()) return out;
  }
  out.reserve(text.size() * 3);
  const std::string_view space = escape_whitespaces_ ? spm_utf8::kSpaceSymbol : std::string_view(" ");
  if (!treat_whitespace_as_suffix_ && add_dummy_prefix_) out += space;
  bool previous_is_space = remove_extra_whitespaces_;
  while (!text.empty()) {
    auto [normalized, taken] = normalize_prefix(text, user_symbols);
    // Runs of spaces collapse to one.
    while (previous_is_space && !normalized.empty() && normalized.front() == ' ') normalized.remove_prefix(1);
    if (!normalized.empty()) {
      for (const char c : normalized) {
        if (c == ' ' && escape_whitespaces_)
          out += spm_utf8::kSpaceSymbol;
        else
          out += c;
      }
      previous_is_space = normalized.back() == ' ';
    }
    text.remove_prefix(taken);
    if (!remove_extra_whitespaces_) previous_is_space = false;
  }
  if (remove_extra_whitespaces_)  // trailing whitespace, a "▁" of the text itself included
    while (out.size() >= space.size() && std::string_view(out).substr(out.size() - space.size()) == space)
      out.resize(out.size() - space.size());
  if (treat_whitespace_as_suffix_ && add_dummy_prefix_) out += space;
  return out;
}

}  // namespace qtool
