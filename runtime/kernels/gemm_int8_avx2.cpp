// AVX2 u8×s8→s32 product for CPUs without VNNI. vpmaddubsw would saturate
// (255·127·2 > 32767), so both operands are widened to s16 and multiplied with
// vpmaddwd, which is exact: each s32 lane holds a pair of products of one
// output channel, and the pairs are added at the end. Compiled with -mavx2.
#include <immintrin.h>

#include <cstring>

#include "runtime/kernels/gemm_int8.h"

namespace qtool::runtime {
namespace {

void gemm_avx2(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1, int32_t* C,
               int64_t ldc) {
  for (int64_t nb = nb0; nb < nb1; ++nb) {
    const int8_t* w = W.data.data() + nb * W.k_quads * 64;
    for (int64_t m = 0; m < M; ++m) {
      __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                        _mm256_setzero_si256()};
      for (int64_t q = 0; q < W.k_quads; ++q) {
        int32_t four;
        std::memcpy(&four, A + m * lda + q * 4, 4);
        // a0 a1 a2 a3 as s16, repeated for the 4 channels of a 16-byte chunk.
        const __m256i a = _mm256_cvtepu8_epi16(_mm_set1_epi32(four));
        for (int c = 0; c < 4; ++c) {
          const __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + q * 64 + c * 16)));
          acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(a, b));
        }
      }
      const int64_t col = nb * 16;
      for (int c = 0; c < 4; ++c) {
        int32_t lanes[8];
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), acc[c]);
        for (int j = 0; j < 4; ++j)
          if (col + c * 4 + j < W.n) C[m * ldc + col - nb0 * 16 + c * 4 + j] = lanes[2 * j] + lanes[2 * j + 1];
      }
    }
  }
}

}  // namespace

const Int8Kernels* int8_kernels_avx2() {
  static const Int8Kernels k{"avx2", gemm_avx2};
  return &k;
}

}  // namespace qtool::runtime
