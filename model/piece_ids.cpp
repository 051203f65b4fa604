#include "model/piece_ids.h"

#include <algorithm>
#include <numeric>

#include "util/error.h"

namespace qtool {

PieceIds::PieceIds(const std::vector<std::string>& piece_of, const std::string& file) {
  size_t bytes = 0;
  for (const std::string& p : piece_of) bytes += p.size();
  if (bytes > UINT32_MAX) fail(file, "its pieces exceed 4 GiB");
  pool_.reserve(bytes);
  offsets_.reserve(piece_of.size() + 1);
  offsets_.push_back(0);
  for (const std::string& p : piece_of) {
    pool_ += p;
    offsets_.push_back(static_cast<uint32_t>(pool_.size()));
  }
  by_piece_.resize(piece_of.size());
  std::iota(by_piece_.begin(), by_piece_.end(), 0);
  std::sort(by_piece_.begin(), by_piece_.end(), [&](int32_t a, int32_t b) { return piece(a) < piece(b); });
}

int PieceIds::find(std::string_view p) const {
  auto it = std::lower_bound(by_piece_.begin(), by_piece_.end(), p,
                             [&](int32_t id, std::string_view key) { return piece(id) < key; });
  return it != by_piece_.end() && piece(*it) == p ? *it : -1;
}

}  // namespace qtool
