// AVX-512 instantiation of the row kernels (16 lanes, masked tails). Compiled
// with -mavx512f -mavx512bw -mavx512vl -mfma; only called when CPUID reports them.
#include <immintrin.h>

#include <cmath>

#include "runtime/kernels/vec_exp.h"
#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {
namespace {
#include "runtime/kernels/vec_kernels.h"

struct Avx512 {
  using reg = __m512;
  static constexpr int64_t width = 16;
  static __mmask16 tail(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg load(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(tail(n), p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static void store(float* p, reg v, int64_t n) { _mm512_mask_storeu_ps(p, tail(n), v); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg floor(reg a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static reg pow2i(reg n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
  static float reduce_add(reg a) { return _mm512_reduce_add_ps(a); }
  // The four horizontal sums at once: a transpose-and-add tree, then the 128-bit lanes.
  static void reduce_add4(reg a, reg b, reg c, reg d, float* out) {
    const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512 x = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
    x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(1, 0, 3, 2)));
    x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
    _mm_storeu_ps(out, _mm512_castps512_ps128(x));  // [Σa, Σb, Σc, Σd]
  }
  static float reduce_max(reg a) { return _mm512_reduce_max_ps(a); }
  // The first lane equal to m, or W when none is.
  static int first_equal(reg a, float m) {
    const unsigned eq = _mm512_cmp_ps_mask(a, _mm512_set1_ps(m), _CMP_EQ_OQ);
    return eq ? __builtin_ctz(eq) : 16;
  }
  static reg exp(reg a) { return cephes_exp<Avx512>(a); }
  static reg abs(reg a) { return _mm512_abs_ps(a); }
  static void store_u8_offset(uint8_t* p, reg v, int64_t n) {
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(128));
    _mm_mask_storeu_epi8(p, tail(n), _mm512_cvtusepi32_epi8(q));
  }
  static reg s32_offset_to_float(const int32_t* acc, const int32_t* sums, int32_t zero, int64_t n) {
    const __m512i a = _mm512_maskz_loadu_epi32(tail(n), acc), b = _mm512_maskz_loadu_epi32(tail(n), sums);
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(a, _mm512_mullo_epi32(b, _mm512_set1_epi32(zero))));
  }
};
}  // namespace

const VecOps* vec_ops_avx512() {
  static const VecOps t = VecKernels<Avx512>::table("avx512");
  return &t;
}

}  // namespace qtool::runtime
