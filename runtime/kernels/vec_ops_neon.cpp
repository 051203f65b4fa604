// NEON instantiation of the row kernels (4 lanes). Advanced SIMD is part of every
// AArch64 CPU, so this file needs no extra compile flags. Tails shorter than a
// register go through a small zero-padded buffer (NEON has no masked loads).
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "runtime/kernels/vec_exp.h"
#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {
namespace {
#include "runtime/kernels/vec_kernels.h"

struct Neon {
  using reg = float32x4_t;
  static constexpr int64_t width = 4;
  static reg load(const float* p) { return vld1q_f32(p); }
  static reg load(const float* p, int64_t n) {
    if (n >= 4) return vld1q_f32(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    std::memcpy(t, p, n * sizeof(float));
    return vld1q_f32(t);
  }
  static void store(float* p, reg v) { vst1q_f32(p, v); }
  static void store(float* p, reg v, int64_t n) {
    if (n >= 4) return vst1q_f32(p, v);
    float t[4];
    vst1q_f32(t, v);
    std::memcpy(p, t, n * sizeof(float));
  }
  static reg set1(float x) { return vdupq_n_f32(x); }
  static reg add(reg a, reg b) { return vaddq_f32(a, b); }
  static reg sub(reg a, reg b) { return vsubq_f32(a, b); }
  static reg mul(reg a, reg b) { return vmulq_f32(a, b); }
  static reg div(reg a, reg b) { return vdivq_f32(a, b); }
  static reg fma(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }
  static reg max(reg a, reg b) { return vmaxq_f32(a, b); }
  static reg min(reg a, reg b) { return vminq_f32(a, b); }
  static reg floor(reg a) { return vrndmq_f32(a); }
  static reg pow2i(reg n) {  // n is integral (floored): 2^n by building the exponent
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
  }
  static float reduce_add(reg a) { return vaddvq_f32(a); }
  static void reduce_add4(reg a, reg b, reg c, reg d, float* out) {
    vst1q_f32(out, vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)));
  }
  static float reduce_max(reg a) { return vmaxvq_f32(a); }
  // The first lane equal to m, or W when none is.
  static int first_equal(reg a, float m) {
    const uint32x4_t eq = vceqq_f32(a, vdupq_n_f32(m));
    if (vmaxvq_u32(eq) == 0) return 4;
    uint32_t lanes[4];
    vst1q_u32(lanes, eq);
    return lanes[0] ? 0 : lanes[1] ? 1 : lanes[2] ? 2 : 3;
  }
  static reg exp(reg a) { return cephes_exp<Neon>(a); }
  static reg abs(reg a) { return vabsq_f32(a); }
  static void store_u8_offset(uint8_t* p, reg v, int64_t n) {
    // Round to nearest even (as nearbyint), +128, narrow; inputs are within [−128, 127].
    const int32x4_t q = vaddq_s32(vcvtnq_s32_f32(v), vdupq_n_s32(128));
    const uint8x8_t b = vmovn_u16(vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(q)), vdup_n_u16(0)));
    uint8_t t[8];
    vst1_u8(t, b);
    std::memcpy(p, t, n < 4 ? n : 4);
  }
  static reg s32_offset_to_float(const int32_t* acc, const int32_t* sums, int32_t zero, int64_t n) {
    if (n >= 4) return vcvtq_f32_s32(vmlsq_n_s32(vld1q_s32(acc), vld1q_s32(sums), zero));
    int32_t a[4] = {0, 0, 0, 0}, s[4] = {0, 0, 0, 0};
    std::memcpy(a, acc, n * sizeof(int32_t));
    std::memcpy(s, sums, n * sizeof(int32_t));
    return vcvtq_f32_s32(vmlsq_n_s32(vld1q_s32(a), vld1q_s32(s), zero));
  }
};
}  // namespace

const VecOps* vec_ops_neon() {
  static const VecOps t = VecKernels<Neon>::table("neon");
  return &t;
}

}  // namespace qtool::runtime
