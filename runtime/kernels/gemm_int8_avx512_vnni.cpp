// AVX-512 VNNI u8×s8→s32 product: vpdpbusd multiplies 4 u8 activations by 4 s8
// weights and adds the four products into one s32 lane, 16 lanes per
// instruction. Register block: 4 rows × 2 column blocks (8 accumulators), so each
// 64-byte weight load serves 4 rows. Compiled with -mavx512f -mavx512bw
// -mavx512vnni; used only when CPUID reports AVX512_VNNI.
#include <immintrin.h>

#include <cstring>

#include "runtime/kernels/gemm_int8.h"

namespace qtool::runtime {
namespace {

inline __m512i broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int R>
void block(const uint8_t* A, int64_t lda, const PackedS8& W, int64_t nb, int64_t nb_count, int32_t* C,
           int64_t ldc, int64_t col0) {
  __m512i acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  const int8_t* w0 = W.data.data() + nb * W.k_quads * 64;
  const int8_t* w1 = w0 + W.k_quads * 64;
  for (int64_t q = 0; q < W.k_quads; ++q) {
    const __m512i b0 = _mm512_loadu_si512(w0 + q * 64);
    const __m512i b1 = nb_count > 1 ? _mm512_loadu_si512(w1 + q * 64) : _mm512_setzero_si512();
    for (int r = 0; r < R; ++r) {
      const __m512i a = broadcast4(A + r * lda + q * 4);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], a, b0);
      if (nb_count > 1) acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], a, b1);
    }
  }
  for (int64_t c = 0; c < nb_count; ++c) {
    const int64_t col = (nb + c) * 16;
    const int64_t width = W.n - col < 16 ? W.n - col : 16;
    const __mmask16 mask = width == 16 ? __mmask16(0xffff) : __mmask16((1u << width) - 1);
    for (int r = 0; r < R; ++r) _mm512_mask_storeu_epi32(C + r * ldc + col - col0, mask, acc[r][c]);
  }
}

void gemm_vnni(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1, int32_t* C,
               int64_t ldc) {
  // Column blocks in pairs: each 4-row block reads two weight blocks per activation broadcast.
  for (int64_t nb = nb0; nb < nb1; nb += 2) {
    const int64_t count = nb + 1 < nb1 ? 2 : 1;
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) block<4>(A + m * lda, lda, W, nb, count, C + m * ldc, ldc, nb0 * 16);
    for (; m < M; ++m) block<1>(A + m * lda, lda, W, nb, count, C + m * ldc, ldc, nb0 * 16);
  }
}

}  // namespace

const Int8Kernels* int8_kernels_avx512_vnni() {
  static const Int8Kernels k{"avx512_vnni", gemm_vnni};
  return &k;
}

}  // namespace qtool::runtime
