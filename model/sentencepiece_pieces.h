// A SentencePiece model's pieces, held compactly: their bytes in one pool in
// byte order ("rank" order), with an offset, score, type and id per rank. The
// order serves exact lookups (a binary search) and prefix matching, which
// narrows the range of ranks one byte at a time, where libsentencepiece walks a
// double-array trie. About 13 bytes a piece beside the bytes themselves.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qtool {

// ModelProto.SentencePiece.Type, numbered as in sentencepiece_model.proto.
enum class PieceType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// libsentencepiece keeps two tables: the "normal" one (NORMAL, USER_DEFINED,
// UNUSED), which the encoders search, and the reserved one (UNKNOWN, CONTROL,
// BYTE), which lookups by piece try first. The same bytes may sit in both.
inline bool is_reserved(PieceType t) {
  return t == PieceType::kUnknown || t == PieceType::kControl || t == PieceType::kByte;
}

// A piece as read from the file, before the table is built.
struct PieceEntry {
  std::string_view bytes;
  float score = 0;
  PieceType type = PieceType::kNormal;
};

class PieceTable {
 public:
  // Ranks [begin, end): the pieces that share the first `depth` bytes.
  struct Range {
    uint32_t begin = 0, end = 0;
    bool empty() const { return begin >= end; }
  };
  static constexpr int kNone = -1;

  PieceTable() = default;
  // Ids are the positions in `entries`. Pieces must be non-empty; duplicates
  // are the caller's to refuse (duplicate_of).
  explicit PieceTable(const std::vector<PieceEntry>& entries);

  size_t size() const { return id_.size(); }
  std::string_view bytes(int rank) const {
    return std::string_view(pool_).substr(offset_[rank], offset_[rank + 1] - offset_[rank]);
  }
  size_t length(int rank) const { return offset_[rank + 1] - offset_[rank]; }
  float score(int rank) const { return score_[rank]; }
  PieceType type(int rank) const { return static_cast<PieceType>(type_[rank]); }
  int id(int rank) const { return static_cast<int>(id_[rank]); }

  // The pieces that start with byte `c` (depth 1).
  Range first(unsigned char c) const { return {first_[c], first_[c + 1u]}; }
  // The pieces of `r` (sharing `depth` bytes) whose byte at `depth` is `c`.
  Range narrow(Range r, size_t depth, unsigned char c) const;
  // The rank in `r` (sharing `depth` bytes) of a piece exactly `depth` bytes long
  // and in the normal table, or kNone. Such pieces sort first in the range.
  int normal_of_length(Range r, size_t depth) const;

  // Exact lookups in one table, or kNone.
  int find_normal(std::string_view piece) const;
  int find_reserved(std::string_view piece) const;
  // Two pieces of one table with the same bytes (libsentencepiece refuses
  // them): the larger id of the first such pair, or kNone.
  int duplicate_id() const;
  // Length of the longest USER_DEFINED piece that `text` starts with (0: none).
  size_t longest_user_defined_prefix(std::string_view text) const;

  size_t memory_bytes() const;

 private:
  Range equal_range(std::string_view piece) const;

  std::string pool_;                   // every piece's bytes, in rank order
  std::vector<uint32_t> offset_;       // rank → start in pool_; one more at the end
  std::vector<float> score_;           // rank → score
  std::vector<uint8_t> type_;          // rank → PieceType
  std::vector<uint32_t> id_;           // rank → id (position in the model file)
  std::array<uint32_t, 257> first_{};  // first rank of each first byte
  // Whether some USER_DEFINED piece starts with each byte: most text has no
  // such symbol, and the normalizer asks at every character.
  std::array<bool, 256> user_defined_first_{};
};

}  // namespace qtool
