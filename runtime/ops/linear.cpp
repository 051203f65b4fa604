#include "runtime/ops/linear.h"

#include "runtime/kernels/gemm.h"
#include "runtime/kernels/vec_ops.h"
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
  // Chunks of 16-column blocks, one per CPU and ≥ 2^16 multiply-adds: sgemm packs
  // its inputs per call (four chunks per CPU ran 7% slower on one thread). Each
  // chunk adds its bias and activation.
  const VecAct act = vec_act(activation);
  const auto add_bias_act = vec_ops().add_bias_act;
  parallel_for(out_, chunk_grain(out_, rows * in_, int64_t(1) << 16, 16, 1), [&](int64_t c0, int64_t c1) {
    gemm_f32_nn(rows, c1 - c0, in_, x, in_, weight_t_.data() + c0, out_, y + c0, out_);
    for (int64_t r = 0; r < rows; ++r) add_bias_act(y + r * out_ + c0, bias_.data() + c0, c1 - c0, act);
  });
}

}  // namespace qtool::runtime
