#include "runtime/ops/linear.h"

#include "runtime/kernels/gemm.h"
#include "runtime/ops/elementwise.h"

namespace qtool::runtime {

LinearF32::LinearF32(const std::vector<LinearWeights>& parts) {
  in_ = parts.at(0).weight->dim(1);
  for (const LinearWeights& p : parts) {
    out_ += p.weight->dim(0);
    weight_.insert(weight_.end(), p.weight->data.begin(), p.weight->data.end());
    bias_.insert(bias_.end(), p.bias->data.begin(), p.bias->data.end());
  }
}

void LinearF32::forward(const float* x, int64_t rows, float* y) const {
  gemm_f32_nt(rows, out_, in_, x, in_, weight_.data(), in_, y, out_);
  add_bias_activation(y, rows, out_, bias_.data(), activation);
}

}  // namespace qtool::runtime
