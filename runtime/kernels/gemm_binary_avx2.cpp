// AVX2 binary-code product for CPUs without AVX-512 VNNI. Half a plane word
// (8 rows × 4 columns) becomes 32 bytes b ∈ {0, 1}: broadcast, vpshufb puts byte
// j/8 in byte j, AND with 1 << (j % 8) isolates bit j, min(·, 1) makes it 0/1.
// vpmaddubsw(b, q) then gives pair sums |b0q0 + b1q1| ≤ 256 with no saturation,
// added in s16 for at most kChunk quads (kChunk · 256 < 32768) and then widened to
// s32 by vpmaddwd. Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/gemm_binary.h"

namespace qtool::runtime {
namespace {

constexpr int64_t kChunk = 64;

inline __m256i broadcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

struct Expander {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128,  //
                                       1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const __m256i one = _mm256_set1_epi8(1);
  // Bit j of the 32 bits at p → byte j ∈ {0, 1}.
  __m256i operator()(const void* p) const {
    const __m256i v = _mm256_shuffle_epi8(broadcast4(p), spread);
    return _mm256_min_epu8(_mm256_and_si256(v, bit), one);
  }
};

// R activation rows × one block of 16 weight rows (two halves of 8), PB planes
// at a time: with one activation row all planes share each pass over the
// columns, with four rows the 16 ymm registers allow one plane.
template <int BITS, int R>
void tile(const BinaryActivations& X, int64_t m0, const BinaryCodeTensor& W, int64_t blk, float* C, int64_t ldc) {
  constexpr int PB = R == 1 ? BITS : (R == 2 && BITS % 2 == 0) ? 2 : 1;
  const Expander expand;
  const __m256i ones16 = _mm256_set1_epi16(1);
  const int64_t cq = W.col_quads(), qpg = W.quads_per_group();
  alignas(32) float out[R][16] = {};
  for (int64_t g = 0; g < W.groups(); ++g) {
    const int64_t q0 = g * qpg, q1 = std::min(q0 + qpg, cq);
    for (int b0 = 0; b0 < BITS; b0 += PB) {
      __m256i acc32[R][PB][2];
      for (int r = 0; r < R; ++r)
        for (int p = 0; p < PB; ++p) acc32[r][p][0] = acc32[r][p][1] = _mm256_setzero_si256();
      for (int64_t c0 = q0; c0 < q1; c0 += kChunk) {
        const int64_t c1 = std::min(c0 + kChunk, q1);
        __m256i acc16[R][PB][2];
        for (int r = 0; r < R; ++r)
          for (int p = 0; p < PB; ++p) acc16[r][p][0] = acc16[r][p][1] = _mm256_setzero_si256();
        const uint64_t* w = W.planes_data() + (blk * cq + c0) * BITS + b0;
        const int8_t* x = X.q.data() + m0 * X.ld + c0 * 4;
        for (int64_t q = c0; q < c1; ++q, w += BITS, x += 4) {
          __m256i a[R];
          for (int r = 0; r < R; ++r) a[r] = broadcast4(x + r * X.ld);
          for (int p = 0; p < PB; ++p)
            for (int h = 0; h < 2; ++h) {
              const __m256i e = expand(reinterpret_cast<const char*>(w + p) + 4 * h);
              for (int r = 0; r < R; ++r)
                acc16[r][p][h] = _mm256_add_epi16(acc16[r][p][h], _mm256_maddubs_epi16(e, a[r]));
            }
        }
        for (int r = 0; r < R; ++r)
          for (int p = 0; p < PB; ++p)
            for (int h = 0; h < 2; ++h)
              acc32[r][p][h] = _mm256_add_epi32(acc32[r][p][h], _mm256_madd_epi16(acc16[r][p][h], ones16));
      }
      for (int p = 0; p < PB; ++p)
        for (int h = 0; h < 2; ++h) {
          alignas(32) float alpha[8];
          for (int j = 0; j < 8; ++j) {
            const int64_t row = blk * 16 + h * 8 + j;
            alpha[j] = row < W.rows ? W.alpha(row, b0 + p, g) : 0.0f;
          }
          const __m256 al = _mm256_load_ps(alpha);
          for (int r = 0; r < R; ++r) {
            const __m256i dot =
                _mm256_sub_epi32(_mm256_slli_epi32(acc32[r][p][h], 1), _mm256_set1_epi32(X.group_sum(m0 + r, g)));
            _mm256_store_ps(out[r] + 8 * h,
                            _mm256_fmadd_ps(al, _mm256_cvtepi32_ps(dot), _mm256_load_ps(out[r] + 8 * h)));
          }
        }
    }
  }
  const int64_t valid = std::min<int64_t>(16, W.rows - blk * 16);
  for (int r = 0; r < R; ++r) std::memcpy(C + (m0 + r) * ldc + blk * 16, out[r], valid * sizeof(float));
}

template <int BITS>
void gemm_bits(const BinaryActivations& X, int64_t M, const BinaryCodeTensor& W, int64_t first, int64_t last,
               float* C, int64_t ldc) {
  auto run = [&](int64_t blk) {
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) tile<BITS, 4>(X, m, W, blk, C, ldc);
    for (; m + 2 <= M; m += 2) tile<BITS, 2>(X, m, W, blk, C, ldc);
    for (; m < M; ++m) tile<BITS, 1>(X, m, W, blk, C, ldc);
  };
  for (int64_t blk = first; blk < last; ++blk) run(blk);
}

void gemm_avx2(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W, int64_t first, int64_t last,
               float* C, int64_t ldc) {
  const BinaryActivations& X = prepare_binary_activations(A, M, lda, W);
  switch (W.bits) {
    case 1: gemm_bits<1>(X, M, W, first, last, C, ldc); break;
    case 2: gemm_bits<2>(X, M, W, first, last, C, ldc); break;
    case 3: gemm_bits<3>(X, M, W, first, last, C, ldc); break;
    case 4: gemm_bits<4>(X, M, W, first, last, C, ldc); break;
  }
}

}  // namespace

const BinaryKernels* binary_kernels_avx2() {
  static const BinaryKernels k{"avx2", gemm_avx2};
  return &k;
}

}  // namespace qtool::runtime
