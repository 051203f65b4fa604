// vocab.json's table {piece: id} held compactly: every piece in one string,
// the ids sorted by piece for lookups. A node-based hash map of std::string
// costs ~60 bytes an entry (3.5 MB at OPUS-MT's 58k pieces); this is ~8 plus
// the piece's bytes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qtool {

class PieceIds {
 public:
  PieceIds() = default;
  // `piece_of[id]`: the piece of each id (distinct, as JSON keys are); `file`
  // names the table in errors.
  PieceIds(const std::vector<std::string>& piece_of, const std::string& file);

  size_t size() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }
  std::string_view piece(int id) const {
    return std::string_view(pool_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  int find(std::string_view piece) const;  // -1 when absent

 private:
  std::string pool_;               // the pieces in id order
  std::vector<uint32_t> offsets_;  // piece i is pool_[offsets_[i], offsets_[i + 1])
  std::vector<int32_t> by_piece_;  // ids ordered by their piece's bytes
};

}  // namespace qtool
