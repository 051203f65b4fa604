// Scalar attention products over the int8 layouts: the oracle for the SIMD kernels.
#include "runtime/kernels/attention_int8.h"

#include <algorithm>
#include <cmath>

namespace qtool::runtime {
namespace {

void scores_ref(const uint8_t* q, const int8_t* K, int64_t d_quads, int64_t n, int32_t* s) {
  for (int64_t j = 0; j < n; ++j) {
    const int8_t* block = K + (j / 16) * d_quads * 64 + (j % 16) * 4;
    int32_t acc = 0;
    for (int64_t g = 0; g < d_quads; ++g)
      for (int64_t i = 0; i < 4; ++i) acc += int32_t(q[g * 4 + i]) * block[g * 64 + i];
    s[j] = acc;
  }
}

void context_ref(const uint8_t* p, const int8_t* V, int64_t v_dims, int64_t n, int32_t* o) {
  for (int64_t d = 0; d < v_dims; ++d) o[d] = 0;
  for (int64_t g = 0; g < (n + 3) / 4; ++g)
    for (int64_t d = 0; d < v_dims; ++d)
      for (int64_t i = 0; i < 4; ++i) o[d] += int32_t(p[g * 4 + i]) * V[(g * v_dims + d) * 4 + i];
}

float quantize_s8_ref(const float* x, int64_t n, int8_t* out, int32_t* sum) {
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float s = amax > 0.0f ? amax / 127.0f : 1.0f, inv = 1.0f / s;
  int32_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    // |x·inv| ≤ 127 up to the rounding of inv: the clamp keeps it s8.
    const float v = std::min(std::max(x[i] * inv, -127.0f), 127.0f);
    out[i] = static_cast<int8_t>(std::nearbyint(v));
    total += out[i];
  }
  *sum = total;
  return s;
}

}  // namespace

const AttentionInt8Kernels& attention_int8_kernels_ref() {
  static const AttentionInt8Kernels k{"scalar", scores_ref, context_ref, quantize_s8_ref};
  return k;
}

}  // namespace qtool::runtime
