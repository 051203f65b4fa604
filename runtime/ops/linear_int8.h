// y = x·Wᵀ + b computed in integers: W is INT8 per output channel, x is
// quantized per row at run time (dynamic, symmetric: s_x = max|x_row| / 127) or
// with the calibrated static scale s_x = T / 127 (values past ±T clip; T / 255
// over [0, T] when calibration saw no negative input),
// the product runs u8×s8→s32 (kernels/gemm_int8), and one pass turns s32 back
// into floats with s_x·s_w[o], adds the bias and applies the activation.
#pragma once
#include "runtime/kernels/gemm_int8.h"
#include "runtime/ops/linear.h"

namespace qtool::runtime {

class LinearInt8 final : public Linear {
 public:
  explicit LinearInt8(const std::vector<LinearWeights>& parts);
  void forward(const float* x, int64_t rows, float* y) const override;
  int64_t in_features() const override { return packed_.k; }
  int64_t out_features() const override { return packed_.n; }

 private:
  PackedS8 packed_;
  std::vector<float> weight_scale_;  // per output channel
  std::vector<float> bias_;
  float input_scale_ = 0.0f;  // static activation scale; 0 = dynamic per row
  bool one_sided_ = false;    // static and never negative: u8 = x / s over [0, 255], zero point 0
};

}  // namespace qtool::runtime
