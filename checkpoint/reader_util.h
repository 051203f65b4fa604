// Helpers shared by the checkpoint readers (internal; not part of the API).
#pragma once
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace qtool::checkpoint {

// Names from a file (tensor names, dataset paths) go into one-line messages; a
// crafted name may hold a newline or a terminal escape, so control bytes are
// shown as \xNN.
inline std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

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
