// AVX2 + FMA instantiation of the row kernels (8 lanes). Compiled with -mavx2 -mfma;
// only called when CPUID reports both.
#include <immintrin.h>

#include <cmath>

#include "runtime/kernels/vec_exp.h"
#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {
namespace {
#include "runtime/kernels/vec_kernels.h"

struct Avx2 {
  using reg = __m256;
  static constexpr int64_t width = 8;
  static __m256i tail_mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg load(const float* p, int64_t n) { return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(n)); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static void store(float* p, reg v, int64_t n) {
    if (n >= 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, tail_mask(n), v);
  }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg floor(reg a) { return _mm256_floor_ps(a); }
  static reg pow2i(reg n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  static void reduce_add4(reg a, reg b, reg c, reg d, float* out) {
    const __m256 x = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1)));
  }
  static float reduce_add(reg a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(reg a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // The first lane equal to m, or W when none is.
  static int first_equal(reg a, float m) {
    const unsigned eq = unsigned(_mm256_movemask_ps(_mm256_cmp_ps(a, _mm256_set1_ps(m), _CMP_EQ_OQ)));
    return eq ? __builtin_ctz(eq) : 8;
  }
  static reg exp(reg a) { return cephes_exp<Avx2>(a); }
  static reg abs(reg a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static void store_u8_offset(uint8_t* p, reg v, int64_t n) {
    alignas(32) int32_t q[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(q), _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(128)));
    for (int64_t j = 0; j < n && j < 8; ++j) p[j] = static_cast<uint8_t>(q[j]);
  }
  static reg s32_offset_to_float(const int32_t* acc, const int32_t* sums, int32_t zero, int64_t n) {
    const __m256i m = tail_mask(n);
    const __m256i a = _mm256_maskload_epi32(acc, m), b = _mm256_maskload_epi32(sums, m);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(a, _mm256_mullo_epi32(b, _mm256_set1_epi32(zero))));
  }
};
}  // namespace

const VecOps* vec_ops_avx2() {
  static const VecOps t = VecKernels<Avx2>::table("avx2");
  return &t;
}

}  // namespace qtool::runtime
