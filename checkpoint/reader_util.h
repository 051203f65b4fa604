// Helpers shared by the checkpoint readers (internal; not part of the API).
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "util/error.h"

namespace qtool::checkpoint {

// Element count of a shape from a file, or nullopt when it is not representable.
// The product of the non-zero dimensions must fit in int64, so that every
// partial product later code forms (Tensor::numel, strides) fits too, even for
// a shape like [2^62, 4, 0] whose count is 0.
inline std::optional<uint64_t> checked_element_count(std::span<const uint64_t> dims) {
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (const uint64_t d : dims) {
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (__builtin_mul_overflow(nonzero_product, d, &nonzero_product)) return std::nullopt;
    if (nonzero_product > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
  }
  return has_zero ? 0 : nonzero_product;
}

}  // namespace qtool::checkpoint
