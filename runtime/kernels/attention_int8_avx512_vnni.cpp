// AVX-512 VNNI attention products over the int8 layouts (kernels/attention_int8.h).
// Scores: one vpdpbusd gives 16 keys 4 dims each; four 16-key blocks run side by
// side so the accumulator chains overlap (vpdpbusd's latency is ~5 cycles).
// Context: one vpdpbusd gives 16 dims 4 steps each; up to 4 dim chunks × 2
// step parities run side by side. Compiled with -mavx512f -mavx512bw
// -mavx512vnni; used only when CPUID reports AVX512_VNNI.
#include <immintrin.h>

#include <cstring>

#include "runtime/kernels/attention_int8.h"

namespace qtool::runtime {
namespace {

inline __m512i broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

inline __mmask16 first(int64_t count) {
  return count >= 16 ? __mmask16(0xffff) : __mmask16((1u << count) - 1);
}

template <int B>
void score_blocks(const uint8_t* q, const int8_t* K, int64_t d_quads, int64_t n, int32_t* s) {
  __m512i acc[B];
  for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_si512();
  const int64_t block_bytes = d_quads * 64;
  for (int64_t g = 0; g < d_quads; ++g) {
    const __m512i a = broadcast4(q + g * 4);
    for (int b = 0; b < B; ++b)
      acc[b] = _mm512_dpbusd_epi32(acc[b], a, _mm512_loadu_si512(K + b * block_bytes + g * 64));
  }
  for (int b = 0; b < B; ++b) _mm512_mask_storeu_epi32(s + b * 16, first(n - b * 16), acc[b]);
}

void scores_vnni(const uint8_t* q, const int8_t* K, int64_t d_quads, int64_t n, int32_t* s) {
  const int64_t blocks = (n + 15) / 16;
  int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) score_blocks<4>(q, K + b * d_quads * 64, d_quads, n - b * 16, s + b * 16);
  for (; b < blocks; ++b) score_blocks<1>(q, K + b * d_quads * 64, d_quads, n - b * 16, s + b * 16);
}

template <int C>
void context_chunks(const uint8_t* p, const int8_t* V, int64_t v_dims, int64_t quads, int32_t* o) {
  __m512i even[C], odd[C];
  for (int c = 0; c < C; ++c) even[c] = odd[c] = _mm512_setzero_si512();
  const int64_t quad_bytes = v_dims * 4;
  int64_t g = 0;
  for (; g + 2 <= quads; g += 2) {
    const __m512i a0 = broadcast4(p + g * 4), a1 = broadcast4(p + g * 4 + 4);
    const int8_t* v0 = V + g * quad_bytes;
    for (int c = 0; c < C; ++c) {
      even[c] = _mm512_dpbusd_epi32(even[c], a0, _mm512_loadu_si512(v0 + c * 64));
      odd[c] = _mm512_dpbusd_epi32(odd[c], a1, _mm512_loadu_si512(v0 + quad_bytes + c * 64));
    }
  }
  if (g < quads) {
    const __m512i a0 = broadcast4(p + g * 4);
    for (int c = 0; c < C; ++c)
      even[c] = _mm512_dpbusd_epi32(even[c], a0, _mm512_loadu_si512(V + g * quad_bytes + c * 64));
  }
  for (int c = 0; c < C; ++c) _mm512_storeu_si512(o + c * 16, _mm512_add_epi32(even[c], odd[c]));
}

void context_vnni(const uint8_t* p, const int8_t* V, int64_t v_dims, int64_t n, int32_t* o) {
  const int64_t quads = (n + 3) / 4, chunks = v_dims / 16;
  int64_t c = 0;
  for (; c + 4 <= chunks; c += 4) context_chunks<4>(p, V + c * 64, v_dims, quads, o + c * 16);
  for (; c + 2 <= chunks; c += 2) context_chunks<2>(p, V + c * 64, v_dims, quads, o + c * 16);
  for (; c < chunks; ++c) context_chunks<1>(p, V + c * 64, v_dims, quads, o + c * 16);
}

float quantize_s8_avx512(const float* x, int64_t n, int8_t* out, int32_t* sum) {
  __m512 m = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16)
    m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(first(n - i), x + i)));
  const float amax = _mm512_reduce_max_ps(m);
  const float s = amax > 0.0f ? amax / 127.0f : 1.0f;
  const __m512 inv = _mm512_set1_ps(1.0f / s), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  __m512i total = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = first(n - i);
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv), lo), hi);
    const __m512i q = _mm512_cvtps_epi32(v);  // round half to even (MXCSR default), as nearbyint
    total = _mm512_add_epi32(total, _mm512_maskz_mov_epi32(k, q));
    _mm_mask_storeu_epi8(out + i, k, _mm512_cvtsepi32_epi8(q));
  }
  *sum = _mm512_reduce_add_epi32(total);
  return s;
}

}  // namespace

const AttentionInt8Kernels* attention_int8_kernels_avx512_vnni() {
  static const AttentionInt8Kernels k{"avx512_vnni", scores_vnni, context_vnni, quantize_s8_avx512};
  return &k;
}

}  // namespace qtool::runtime
