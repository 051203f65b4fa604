// Scalar u8×s8→s32 product over the packed layout: the oracle for the SIMD kernels.
#include <algorithm>

#include "runtime/kernels/gemm_int8.h"

namespace qtool::runtime {
namespace {

void gemm_ref(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1, int32_t* C,
              int64_t ldc) {
  const int64_t j1 = std::min(W.n, nb1 * 16);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = nb0 * 16; j < j1; ++j) {
      const int8_t* block = W.data.data() + (j / 16) * W.k_quads * 64 + (j % 16) * 4;
      int32_t acc = 0;
      for (int64_t q = 0; q < W.k_quads; ++q)
        for (int64_t t = 0; t < 4; ++t) acc += int32_t(A[m * lda + q * 4 + t]) * block[q * 64 + t];
      C[m * ldc + j - nb0 * 16] = acc;
    }
}

}  // namespace

const Int8Kernels& int8_kernels_ref() {
  static const Int8Kernels k{"scalar", gemm_ref};
  return k;
}

}  // namespace qtool::runtime
