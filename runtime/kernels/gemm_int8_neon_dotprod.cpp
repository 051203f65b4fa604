// NEON u8×s8→s32 product with ARMv8.2's sdot (compiled with +dotprod; chosen only
// when HWCAP reports it). sdot by element multiplies a 16-byte weight load — 4
// channels × 4 bytes, the packed layout as it is — by the 4 activation bytes of
// one 32-bit lane and adds each channel's 4 products into its s32 lane: 16
// multiply-adds per instruction, 4 instructions per quad for a block of 16.
#include "runtime/kernels/gemm_int8_neon.h"

namespace qtool::runtime {
namespace {

using neon_int8::broadcast_quad;
using neon_int8::store_block;

// Quad T of a step of four: its 64 weight bytes against lane T of each row's 16.
template <int R, int T>
inline void sdot_lane(int32x4_t (&acc)[R][4], const int8_t* w, const int8x16_t (&a)[R]) {
  for (int c = 0; c < 4; ++c) {
    const int8x16_t b = vld1q_s8(w + 64 * T + 16 * c);
    for (int r = 0; r < R; ++r) acc[r][c] = vdotq_laneq_s32(acc[r][c], b, a[r], T);
  }
}

// R activation rows × one block of 16 channels; four quads (16 activation bytes,
// one load per row) per step, single quads for the rest.
template <int R>
void tile(const uint8_t* A, int64_t m0, int64_t lda, const PackedS8& W, int64_t nb, int32_t* C, int64_t ldc,
          int64_t col0) {
  int32x4_t acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = vdupq_n_s32(0);
  const int8_t* w = W.data.data() + nb * W.k_quads * 64;
  const uint8x16_t flip = vdupq_n_u8(0x80);
  int64_t q = 0;
  for (; q + 4 <= W.k_quads; q += 4, w += 256) {
    int8x16_t a[R];
    for (int r = 0; r < R; ++r) a[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(A + (m0 + r) * lda + q * 4), flip));
    sdot_lane<R, 0>(acc, w, a);
    sdot_lane<R, 1>(acc, w, a);
    sdot_lane<R, 2>(acc, w, a);
    sdot_lane<R, 3>(acc, w, a);
  }
  for (; q < W.k_quads; ++q, w += 64) {
    int8x16_t a[R];
    for (int r = 0; r < R; ++r) a[r] = broadcast_quad(A + (m0 + r) * lda + q * 4);
    for (int c = 0; c < 4; ++c) {
      const int8x16_t b = vld1q_s8(w + 16 * c);
      for (int r = 0; r < R; ++r) acc[r][c] = vdotq_s32(acc[r][c], b, a[r]);
    }
  }
  for (int r = 0; r < R; ++r) store_block(acc[r], W, nb, C + (m0 + r) * ldc, col0);
}

void gemm_neon_dotprod(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1, int32_t* C,
                       int64_t ldc) {
  for (int64_t nb = nb0; nb < nb1; ++nb) {
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) tile<4>(A, m, lda, W, nb, C, ldc, nb0 * 16);
    for (; m < M; ++m) tile<1>(A, m, lda, W, nb, C, ldc, nb0 * 16);
  }
}

}  // namespace

const Int8Kernels* int8_kernels_neon_dotprod() {
  static const Int8Kernels k{"neon_dotprod", gemm_neon_dotprod};
  return &k;
}

}  // namespace qtool::runtime
