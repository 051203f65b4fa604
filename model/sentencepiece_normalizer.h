// SentencePiece's normalizer, as libsentencepiece 0.1.97 runs it
// (src/normalizer.cc): the precompiled character map rewrites the text
// (NFKC and the like), whitespace is trimmed and squeezed, a dummy "▁" is put
// in front (or behind, with treat_whitespace_as_suffix), spaces become "▁".
//
// The precompiled charsmap is <uint32 trie size, little-endian><darts-clone
// double array of that many bytes><NUL-separated replacement strings>. A
// double-array unit is 32 bits: bits 0-7 the label a child is reached by (bit
// 31 set marks a value unit, which no byte matches), bit 8 "has a value", bits
// 10-31 an offset (shifted left by 8 when bit 9 is set) that, XORed with the
// unit's index, gives its base: its child for byte c is unit base ^ c, its
// value unit is unit base. A value unit's bits 0-30 are the replacement's
// offset in the strings.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "model/sentencepiece_pieces.h"

namespace qtool {

// NormalizerSpec's fields that change the text (the proto's defaults: true).
struct NormalizerSpec {
  std::string_view precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

class SentencePieceNormalizer {
 public:
  SentencePieceNormalizer() = default;
  // Checks the charsmap: every trie node that input bytes can reach, and every
  // replacement offset, must lie inside it. `field` names it in errors.
  SentencePieceNormalizer(const NormalizerSpec& spec, bool treat_whitespace_as_suffix,
                          const std::string& file, const std::string& field);

  // `user_symbols`: USER_DEFINED pieces pass through unchanged (none when null).
  std::string normalize(std::string_view text, const PieceTable* user_symbols) const;

  size_t memory_bytes() const { return sizeof(*this) + charsmap_.capacity(); }

 private:
  // The normalized form of the first character(s) of `text` and how many bytes they took.
  std::pair<std::string_view, size_t> normalize_prefix(std::string_view text,
                                                       const PieceTable* user_symbols) const;
  uint32_t unit(uint32_t i) const;  // the double array's unit i
  void check_trie(const std::string& file, const std::string& field) const;

  std::string charsmap_;      // the whole blob, as in the file
  uint32_t units_ = 0;        // double-array units (0: no charsmap)
  size_t strings_begin_ = 0;  // where the replacement strings start in charsmap_
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = true;
  bool escape_whitespaces_ = true;
  bool treat_whitespace_as_suffix_ = false;
};

}  // namespace qtool
