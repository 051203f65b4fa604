// AVX-512 VNNI u8×s8→s32 product: vpdpbusd multiplies 4 u8 activations by 4 s8
// weights and adds the four products into one s32 lane, 16 lanes per
// instruction. Register block: 4 rows × 4 column blocks (16 accumulators; 2
// blocks below 4 rows), so each 64-byte weight load serves 4 rows and each
// activation broadcast 4 blocks. Compiled with -mavx512f -mavx512bw
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

template <int R, int NB>
void block(const uint8_t* A, int64_t lda, const PackedS8& W, int64_t nb, int32_t* C, int64_t ldc, int64_t col0) {
  __m512i acc[R][NB];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NB; ++c) acc[r][c] = _mm512_setzero_si512();
  const int8_t* w = W.data.data() + nb * W.k_quads * 64;
  const int64_t stride = W.k_quads * 64;
  for (int64_t q = 0; q < W.k_quads; ++q) {
    __m512i b[NB];
    for (int c = 0; c < NB; ++c) b[c] = _mm512_loadu_si512(w + c * stride + q * 64);
    for (int r = 0; r < R; ++r) {
      const __m512i a = broadcast4(A + r * lda + q * 4);
      for (int c = 0; c < NB; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], a, b[c]);
    }
  }
  for (int c = 0; c < NB; ++c) {
    const int64_t col = (nb + c) * 16;
    const int64_t width = W.n - col < 16 ? W.n - col : 16;
    const __mmask16 mask = width == 16 ? __mmask16(0xffff) : __mmask16((1u << width) - 1);
    for (int r = 0; r < R; ++r) _mm512_mask_storeu_epi32(C + r * ldc + col - col0, mask, acc[r][c]);
  }
}

// Groups of 4 rows, then single rows, over the blocks nb … nb + NB − 1.
template <int NB>
void rows(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb, int32_t* C, int64_t ldc,
          int64_t col0) {
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) block<4, NB>(A + m * lda, lda, W, nb, C + m * ldc, ldc, col0);
  for (; m < M; ++m) block<1, NB>(A + m * lda, lda, W, nb, C + m * ldc, ldc, col0);
}

void gemm_vnni(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1, int32_t* C,
               int64_t ldc) {
  // From 4 rows on, 4 column blocks per activation broadcast (16 accumulators)
  // load less per vpdpbusd: 7% on a 58k × 512 product at 32 rows. Fewer rows
  // take pairs: a one-row product is bound by bandwidth, and 4 blocks lost 17% there.
  int64_t nb = nb0;
  if (M >= 4)
    for (; nb + 4 <= nb1; nb += 4) rows<4>(A, M, lda, W, nb, C, ldc, nb0 * 16);
  for (; nb + 2 <= nb1; nb += 2) rows<2>(A, M, lda, W, nb, C, ldc, nb0 * 16);
  for (; nb < nb1; ++nb) rows<1>(A, M, lda, W, nb, C, ldc, nb0 * 16);
}

}  // namespace

const Int8Kernels* int8_kernels_avx512_vnni() {
  static const Int8Kernels k{"avx512_vnni", gemm_vnni};
  return &k;
}

}  // namespace qtool::runtime
