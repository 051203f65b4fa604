// AVX2 attention products over the int8 layouts, for CPUs without VNNI.
// vpmaddubsw would saturate (255·127·2 > 32767), so both operands are widened
// to s16 and multiplied with vpmaddwd, which is exact: each s32 lane holds a
// pair of products of one key (scores) or one dim (context), and the pairs are
// added at the end with vphaddd. Compiled with -mavx2.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/kernels/attention_int8.h"

namespace qtool::runtime {
namespace {

// 4 u8 bytes as s16, repeated for the 4 rows of a 16-byte group.
inline __m256i broadcast4_s16(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_cvtepu8_epi16(_mm_set1_epi32(v));
}

inline __m256i load16_s16(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Two accumulators of pairs [r0 r0 r1 r1 r2 r2 r3 r3] (rows 0–3 and 4–7) → rows 0–7.
inline __m256i fold_pairs(__m256i lo, __m256i hi) {
  return _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xd8);
}

void scores_avx2(const uint8_t* q, const int8_t* K, int64_t d_quads, int64_t n, int32_t* s) {
  for (int64_t b = 0; b * 16 < n; ++b) {
    const int8_t* block = K + b * d_quads * 64;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int64_t g = 0; g < d_quads; ++g) {
      const __m256i a = broadcast4_s16(q + g * 4);
      for (int c = 0; c < 4; ++c) acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(a, load16_s16(block + g * 64 + c * 16)));
    }
    alignas(32) int32_t keys[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(keys), fold_pairs(acc[0], acc[1]));
    _mm256_store_si256(reinterpret_cast<__m256i*>(keys + 8), fold_pairs(acc[2], acc[3]));
    const int64_t count = n - b * 16 < 16 ? n - b * 16 : 16;
    std::memcpy(s + b * 16, keys, count * sizeof(int32_t));
  }
}

void context_avx2(const uint8_t* p, const int8_t* V, int64_t v_dims, int64_t n, int32_t* o) {
  const int64_t quads = (n + 3) / 4;
  for (int64_t c = 0; c < v_dims; c += 16) {  // 16 dims: 4 groups of 4 dims × 4 steps
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int64_t g = 0; g < quads; ++g) {
      const __m256i a = broadcast4_s16(p + g * 4);
      const int8_t* v = V + (g * v_dims + c) * 4;
      for (int i = 0; i < 4; ++i) acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(a, load16_s16(v + i * 16)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + c), fold_pairs(acc[0], acc[1]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + c + 8), fold_pairs(acc[2], acc[3]));
  }
}

float quantize_s8_avx2(const float* x, int64_t n, int8_t* out, int32_t* sum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float amax = 0.0f;
  for (float v : lanes) amax = amax > v ? amax : v;
  for (; i < n; ++i) amax = amax > std::fabs(x[i]) ? amax : std::fabs(x[i]);
  const float s = amax > 0.0f ? amax / 127.0f : 1.0f, inv_s = 1.0f / s;
  const __m256 inv = _mm256_set1_ps(inv_s), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  __m256i total = _mm256_setzero_si256();
  alignas(32) int32_t q[8];
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv), lo), hi);
    const __m256i qi = _mm256_cvtps_epi32(v);  // round half to even (MXCSR default), as nearbyint
    total = _mm256_add_epi32(total, qi);
    _mm256_store_si256(reinterpret_cast<__m256i*>(q), qi);
    for (int j = 0; j < 8; ++j) out[i + j] = static_cast<int8_t>(q[j]);
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(q), total);
  int32_t t = 0;
  for (int32_t v : q) t += v;
  for (; i < n; ++i) {  // the tail as the reference does it
    const float v = std::min(std::max(x[i] * inv_s, -127.0f), 127.0f);
    out[i] = static_cast<int8_t>(std::nearbyint(v));
    t += out[i];
  }
  *sum = t;
  return s;
}

}  // namespace

const AttentionInt8Kernels* attention_int8_kernels_avx2() {
  static const AttentionInt8Kernels k{"avx2", scores_avx2, context_avx2, quantize_s8_avx2};
  return &k;
}

}  // namespace qtool::runtime
