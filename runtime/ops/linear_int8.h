// y = x·Wᵀ + b computed in integers: W is INT8 per output channel, x is
// quantized per row at run time (dynamic, symmetric: s_x = max|x_row| / 127) or
// with a calibrated static range (model/weights.h CalibratedInput: symmetric
// s8 over [−T, T], or u8 with a zero point z over [−z·s, T]; values past the
// range clip), the product runs u8×s8→s32 (kernels/gemm_int8), and one pass
// turns s32 back into floats: (acc − z·Σ_i w[o,i])·s_x·s_w[o], with the bias
// and activation fused. The zero point costs nothing at run time: Σ_i w[o,i] is
// packed with the weights and the symmetric path already subtracts 128·Σ w.
#pragma once
#include "runtime/kernels/gemm_int8.h"
#include "runtime/ops/linear.h"

namespace qtool::runtime {

class LinearInt8 final : public Linear {
 public:
  explicit LinearInt8(const std::vector<LinearWeights>& parts);
  void forward(const float* x, int64_t rows, float* y) const override;
  // Greedy decoding's output projection without its logits: dequantized span
  // by span in L1 and reduced to each row's argmax there.
  void forward_argmax(const float* x, int64_t rows, const std::vector<int>& masked, int* best) const override;
  // Another input range on the same packed weights (calibration tries several).
  void set_input(const CalibratedInput& in);
  int64_t in_features() const override { return packed_.k; }
  int64_t out_features() const override { return packed_.n; }

 private:
  struct QuantizedRows {
    const uint8_t* a;      // [rows, lda] u8
    int64_t lda;
    const float* scales;   // [rows]
  };
  QuantizedRows quantize_rows(const float* x, int64_t rows) const;

  PackedS8 packed_;
  std::vector<float> weight_scale_;  // per output channel
  std::vector<float> bias_;
  float input_scale_ = 0.0f;  // static activation scale; 0 = dynamic per row
  bool asymmetric_ = false;   // static u8 with zero point zero_point_ (else s8 stored as u8 + 128)
  int32_t zero_point_ = 0;
};

}  // namespace qtool::runtime
