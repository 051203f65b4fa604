#include "quantize/int8.h"

#include <algorithm>
#include <cmath>

namespace qtool::quantize {

Int8Tensor quantize_int8(const Tensor& w, QType type) {
  Int8Tensor q;
  q.type = type;
  q.rows = w.dim(0);
  q.cols = w.numel() / q.rows;
  q.values.resize(w.numel());
  const bool per_channel = type == QType::int8_per_channel;
  auto amax = [&](int64_t r0, int64_t r1) {
    float m = 0.0f;
    for (int64_t i = r0 * q.cols; i < r1 * q.cols; ++i) m = std::max(m, std::abs(w.data[i]));
    return m > 0.0f ? m / 127.0f : 1.0f;
  };
  if (per_channel)
    for (int64_t r = 0; r < q.rows; ++r) q.scales.push_back(amax(r, r + 1));
  else
    q.scales.push_back(amax(0, q.rows));
  for (int64_t r = 0; r < q.rows; ++r) {
    const float inv = 1.0f / q.scale(r);
    for (int64_t c = 0; c < q.cols; ++c) {
      const float v = std::nearbyint(w.data[r * q.cols + c] * inv);
      q.values[r * q.cols + c] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
  return q;
}

}  // namespace qtool::quantize
