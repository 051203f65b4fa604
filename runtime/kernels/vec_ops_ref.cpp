// The scalar reference: plain C++ with libm's exp, one lane. It is the oracle
// the vectorised tables are tested against, and the fallback on any CPU.
#include <cmath>

#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {
namespace {
#include "runtime/kernels/vec_kernels.h"

struct Scalar {
  using reg = float;
  static constexpr int64_t width = 1;
  static reg load(const float* p) { return *p; }
  static reg load(const float* p, int64_t n) { return n > 0 ? *p : 0.0f; }
  static void store(float* p, reg v) { *p = v; }
  static void store(float* p, reg v, int64_t n) {
    if (n > 0) *p = v;
  }
  static reg set1(float x) { return x; }
  static reg add(reg a, reg b) { return a + b; }
  static reg sub(reg a, reg b) { return a - b; }
  static reg mul(reg a, reg b) { return a * b; }
  static reg div(reg a, reg b) { return a / b; }
  static reg fma(reg a, reg b, reg c) { return a * b + c; }
  static reg max(reg a, reg b) { return a > b ? a : b; }
  static reg min(reg a, reg b) { return a < b ? a : b; }
  static float reduce_add(reg a) { return a; }
  static void reduce_add4(reg a, reg b, reg c, reg d, float* out) { out[0] = a, out[1] = b, out[2] = c, out[3] = d; }
  static float reduce_max(reg a) { return a; }
  static int first_equal(reg a, float m) { return a == m ? 0 : 1; }
  static reg exp(reg a) { return std::exp(a); }
  static reg abs(reg a) { return std::fabs(a); }
  static void store_u8_offset(uint8_t* p, reg v, int64_t n) {
    if (n > 0) *p = static_cast<uint8_t>(static_cast<int>(std::nearbyint(v)) + 128);
  }
  static reg s32_offset_to_float(const int32_t* acc, const int32_t* sums, int32_t zero, int64_t n) {
    return n > 0 ? static_cast<float>(*acc - zero * *sums) : 0.0f;
  }
};
}  // namespace

const VecOps& vec_ops_ref() {
  static const VecOps t = VecKernels<Scalar>::table("scalar");
  return t;
}

}  // namespace qtool::runtime
