// NEON u8×s8→s32 product for AArch64 CPUs without the dot-product extension.
// One 16-byte weight load is 4 channels × 4 bytes; smull/smull2 multiply it by the
// 4 activation bytes repeated (s8×s8 fits s16: |q·w| ≤ 128·128) and sadalp adds
// adjacent pairs into s32, so each accumulator holds two channels × two partial
// sums, combined by one addp at the end. Exact for every input.
#include "runtime/kernels/gemm_int8_neon.h"

namespace qtool::runtime {
namespace {

using neon_int8::broadcast_quad;
using neon_int8::store_block;

// R activation rows × one block of 16 channels.
template <int R>
void tile(const uint8_t* A, int64_t m0, int64_t lda, const PackedS8& W, int64_t nb, int32_t* C, int64_t ldc,
          int64_t col0) {
  int32x4_t lo[R][4], hi[R][4];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) lo[r][c] = hi[r][c] = vdupq_n_s32(0);
  const int8_t* w = W.data.data() + nb * W.k_quads * 64;
  for (int64_t q = 0; q < W.k_quads; ++q, w += 64) {
    int8x16_t a[R];
    for (int r = 0; r < R; ++r) a[r] = broadcast_quad(A + (m0 + r) * lda + q * 4);
    for (int c = 0; c < 4; ++c) {
      const int8x16_t b = vld1q_s8(w + 16 * c);
      for (int r = 0; r < R; ++r) {
        lo[r][c] = vpadalq_s16(lo[r][c], vmull_s8(vget_low_s8(b), vget_low_s8(a[r])));
        hi[r][c] = vpadalq_s16(hi[r][c], vmull_high_s8(b, a[r]));
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    int32x4_t acc[4];
    for (int c = 0; c < 4; ++c) acc[c] = vpaddq_s32(lo[r][c], hi[r][c]);
    store_block(acc, W, nb, C + (m0 + r) * ldc, col0);
  }
}

void gemm_neon(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1, int32_t* C,
               int64_t ldc) {
  for (int64_t nb = nb0; nb < nb1; ++nb) {
    int64_t m = 0;
    for (; m + 2 <= M; m += 2) tile<2>(A, m, lda, W, nb, C, ldc, nb0 * 16);
    for (; m < M; ++m) tile<1>(A, m, lda, W, nb, C, ldc, nb0 * 16);
  }
}

}  // namespace

const Int8Kernels* int8_kernels_neon() {
  static const Int8Kernels k{"neon", gemm_neon};
  return &k;
}

}  // namespace qtool::runtime
