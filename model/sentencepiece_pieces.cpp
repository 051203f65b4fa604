#include "model/sentencepiece_pieces.h"

#include <algorithm>
#include <numeric>

namespace qtool {

PieceTable::PieceTable(const std::vector<PieceEntry>& entries) {
  std::vector<uint32_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0u);
  // std::string_view orders bytes as unsigned char, as narrow() does; equal
  // bytes (one piece in each table) by id.
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const int c = entries[a].bytes.compare(entries[b].bytes);
    return c < 0 || (c == 0 && a < b);
  });
  size_t total = 0;
  for (const PieceEntry& e : entries) total += e.bytes.size();
  pool_.reserve(total);
  offset_.reserve(entries.size() + 1);
  score_.reserve(entries.size());
  type_.reserve(entries.size());
  id_.reserve(entries.size());
  for (uint32_t id : order) {
    const PieceEntry& e = entries[id];
    offset_.push_back(static_cast<uint32_t>(pool_.size()));
    pool_.append(e.bytes);
    score_.push_back(e.score);
    type_.push_back(static_cast<uint8_t>(e.type));
    id_.push_back(id);
    if (e.type == PieceType::kUserDefined) user_defined_first_[static_cast<unsigned char>(e.bytes[0])] = true;
  }
  offset_.push_back(static_cast<uint32_t>(pool_.size()));
  // first_[c]: the first rank whose first byte is >= c (pieces are never empty).
  uint32_t rank = 0;
  for (unsigned c = 0; c < 256; ++c) {
    while (rank < id_.size() && static_cast<unsigned char>(pool_[offset_[rank]]) < c) ++rank;
    first_[c] = rank;
  }
  first_[256] = static_cast<uint32_t>(id_.size());
}

PieceTable::Range PieceTable::narrow(Range r, size_t depth, unsigned char c) const {
  // Within r, pieces exactly `depth` bytes long come first, then the rest by
  // their byte at `depth`: key -1 for the former, the byte for the latter.
  const int target = c;
  auto key = [&](uint32_t rank) {
    const uint32_t at = offset_[rank] + static_cast<uint32_t>(depth);
    return at < offset_[rank + 1] ? int(static_cast<unsigned char>(pool_[at])) : -1;
  };
  uint32_t lo = r.begin, hi = r.end;
  while (lo < hi) {  // first rank with key >= c
    const uint32_t mid = lo + (hi - lo) / 2;
    if (key(mid) < target)
      lo = mid + 1;
    else
      hi = mid;
  }
  const uint32_t begin = lo;
  // The end: galloping from the beginning, as the pieces with byte c are
  // usually few beside the range.
  uint32_t step = 1;
  while (begin + step < r.end && key(begin + step) <= target) step *= 2;
  lo = begin + step / 2;
  hi = std::min(begin + step, r.end);
  while (lo < hi) {  // first rank with key > c
    const uint32_t mid = lo + (hi - lo) / 2;
    if (key(mid) <= target)
      lo = mid + 1;
    else
      hi = mid;
  }
  return {begin, lo};
}

int PieceTable::normal_of_length(Range r, size_t depth) const {
  for (uint32_t rank = r.begin; rank < r.end && length(rank) == depth; ++rank)
    if (!is_reserved(type(rank))) return static_cast<int>(rank);
  return kNone;
}

PieceTable::Range PieceTable::equal_range(std::string_view piece) const {
  uint32_t lo = 0, hi = static_cast<uint32_t>(id_.size());
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (bytes(mid) < piece)
      lo = mid + 1;
    else
      hi = mid;
  }
  uint32_t end = lo;
  while (end < id_.size() && bytes(end) == piece) ++end;
  return {lo, end};
}

int PieceTable::find_normal(std::string_view piece) const {
  const Range r = equal_range(piece);
  for (uint32_t rank = r.begin; rank < r.end; ++rank)
    if (!is_reserved(type(rank))) return static_cast<int>(rank);
  return kNone;
}

int PieceTable::find_reserved(std::string_view piece) const {
  const Range r = equal_range(piece);
  for (uint32_t rank = r.begin; rank < r.end; ++rank)
    if (is_reserved(type(rank))) return static_cast<int>(rank);
  return kNone;
}

int PieceTable::duplicate_id() const {
  int found = kNone;
  bool seen_normal = false, seen_reserved = false;  // in the current run of equal bytes
  for (uint32_t rank = 0; rank < id_.size(); ++rank) {
    // Equal bytes are adjacent, in id order.
    if (rank == 0 || bytes(rank - 1) != bytes(rank)) seen_normal = seen_reserved = false;
    bool& seen = is_reserved(type(rank)) ? seen_reserved : seen_normal;
    if (seen && (found == kNone || id(rank) < found)) found = id(rank);
    seen = true;
  }
  return found;
}

size_t PieceTable::longest_user_defined_prefix(std::string_view text) const {
  if (text.empty() || !user_defined_first_[static_cast<unsigned char>(text[0])]) return 0;
  size_t longest = 0;
  Range r = first(static_cast<unsigned char>(text[0]));
  for (size_t depth = 1; !r.empty(); ++depth) {
    for (uint32_t rank = r.begin; rank < r.end && length(rank) == depth; ++rank)
      if (type(rank) == PieceType::kUserDefined) longest = depth;
    if (depth == text.size()) break;
    r = narrow(r, depth, static_cast<unsigned char>(text[depth]));
  }
  return longest;
}

size_t PieceTable::memory_bytes() const {
  return sizeof(*this) + pool_.capacity() + offset_.capacity() * sizeof(uint32_t) +
         score_.capacity() * sizeof(float) + type_.capacity() + id_.capacity() * sizeof(uint32_t);
}

}  // namespace qtool
