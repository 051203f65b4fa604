// Scalar binary-code product straight from the definition: the oracle for the
// SIMD kernels (and the fallback on CPUs without AVX2).
#include <algorithm>

#include "runtime/kernels/gemm_binary.h"

namespace qtool::runtime {
namespace {

void gemm_ref(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W, int64_t first, int64_t last,
              float* C, int64_t ldc) {
  const uint64_t* planes = W.planes_data();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t o = first * 16; o < std::min(last * 16, W.rows); ++o) {
      float c = 0.0f;
      for (int64_t g = 0; g < W.groups(); ++g)
        for (int b = 0; b < W.bits; ++b) {
          int32_t dot = 0;  // Σ_{i∈g} q_i · s_i, exact
          for (int64_t i = g * W.group_size; i < W.cols && i < (g + 1) * W.group_size; ++i) {
            const uint64_t word = planes[((o / 16) * W.col_quads() + i / 4) * W.bits + b];
            const int32_t s = (word >> ((o % 16) * 4 + i % 4)) & 1 ? 1 : -1;
            dot += (int32_t(A[m * lda + i]) - 128) * s;
          }
          c += W.alpha(o, b, g) * float(dot);
        }
      C[m * ldc + o] = c;
    }
}

}  // namespace

const BinaryKernels& binary_kernels_ref() {
  static const BinaryKernels k{"scalar", gemm_ref};
  return k;
}

}  // namespace qtool::runtime
