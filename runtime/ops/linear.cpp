#include "runtime/ops/linear.h"

#include "runtime/kernels/gemm.h"
#include "runtime/ops/elementwise.h"

namespace qtool::runtime {

LinearF32::LinearF32(const std::vector<LinearWeights>& parts) {
  in_ = parts.at(0).weight->dim(1);
  for (const LinearWeights& p : parts) out_ += p.weight->dim(0);
  weight_t_.resize(in_ * out_);
  int64_t row0 = 0;
  for (const LinearWeights& p : parts) {
    const float* w = p.weight->data.data();
    for (int64_t o = 0; o < p.weight->dim(0); ++o)
      for (int64_t i = 0; i < in_; ++i) weight_t_[i * out_ + row0 + o] = w[o * in_ + i];
    row0 += p.weight->dim(0);
    bias_.insert(bias_.end(), p.bias->data.begin(), p.bias->data.end());
  }
}

void LinearF32::forward(const float* x, int64_t rows, float* y) const {
  observe(x, rows);
  gemm_f32_nn(rows, out_, in_, x, in_, weight_t_.data(), out_, y, out_);
  add_bias_activation(y, rows, out_, bias_.data(), activation);
}

}  // namespace qtool::runtime
