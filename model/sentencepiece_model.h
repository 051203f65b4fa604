// qtool's own SentencePiece tokenizer: reads a serialized ModelProto (a
// .spm file) and encodes and decodes exactly as libsentencepiece 0.1.97's
// SentencePieceProcessor::Encode(text, &pieces) and Decode(pieces, &text) do,
// for UNIGRAM and BPE models, so the runtime needs neither libsentencepiece nor
// protobuf (docs/tokenizer.md). tests/model/test_sentencepiece_model.cpp
// compares the two piece for piece.
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/sentencepiece_normalizer.h"
#include "model/sentencepiece_pieces.h"

namespace qtool {

class SentencePieceModel {
 public:
  // `bytes`: the serialized ModelProto; `file` names it in errors. Refuses
  // (qtool::fail, one line naming the field) what libsentencepiece refuses to
  // load, what it would read out of bounds on (a character map pointing
  // outside itself), WORD and CHAR models, and pieces holding a NUL byte.
  SentencePieceModel(std::string_view bytes, const std::string& file);

  // The pieces of `text`: normalized, then segmented (unigram Viterbi or BPE
  // merges); runs of unknown characters as one piece, or as <0xXX> byte pieces
  // with byte_fallback. Never fails: where the library's Encode returns an
  // error status (a CONTROL piece in a BPE segmentation), the result is empty,
  // as the library leaves it.
  std::vector<std::string> encode(std::string_view text) const;
  // The text of `pieces`: "▁" → " ", the first "▁" dropped (add_dummy_prefix or
  // remove_extra_whitespaces), CONTROL pieces dropped, <unk> as unk_surface,
  // <0xXX> byte pieces joined into UTF-8 (U+FFFD for each byte that does not
  // decode), pieces the model lacks verbatim.
  std::string decode(const std::vector<std::string>& pieces) const;

  // The id of `piece`; the <unk> id when the model lacks it, as
  // SentencePieceProcessor::PieceToId does (never -1).
  int piece_to_id(std::string_view piece) const;
  size_t size() const { return pieces_.size(); }

  // The pieces segmentation produces (NORMAL), each with its estimated share of
  // the tokens of the text the model was trained on: a unigram model's scores
  // are those log-probabilities (exp, normalised); a BPE model's are its merge
  // order, read as Zipf's law (1 / (rank + 1), normalised). For token
  // frequencies without a corpus (quantize/token_counts.h).
  std::vector<std::pair<std::string_view, double>> piece_shares() const;

  // Bytes held by this object (its members and their heap blocks).
  size_t memory_bytes() const;

 private:
  enum class Algorithm { kUnigram, kBpe };
  struct Segment {  // one piece of a segmentation: its bytes in the normalized text, its rank
    std::string_view bytes;
    int rank;
  };

  std::vector<Segment> encode_unigram(std::string_view normalized) const;
  std::vector<Segment> encode_bpe(std::string_view normalized) const;
  // The rank SentencePiece's PieceToId finds: the reserved table first, then
  // the normal one, else <unk>.
  int lookup(std::string_view piece) const;

  PieceTable pieces_;
  // The ranks that share the first 1, 2 and 3 bytes of "▁": most words start
  // with it, and narrowing to it is the slowest step of the unigram search.
  std::array<PieceTable::Range, 3> space_path_{};
  SentencePieceNormalizer normalizer_, denormalizer_;
  std::string unk_surface_;  // Decode's text for <unk>
  Algorithm algorithm_ = Algorithm::kUnigram;
  bool byte_fallback_ = false;
  bool has_denormalizer_ = false;
  bool strip_leading_space_ = true;  // add_dummy_prefix || remove_extra_whitespaces
  bool keep_stripping_ = true;       // remove_extra_whitespaces: every leading "▁", not one
  int unk_rank_ = PieceTable::kNone;
  float min_score_ = 0, max_score_ = 0;  // over NORMAL pieces, as the unigram model keeps them
};

}  // namespace qtool
