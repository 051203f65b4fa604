#include "runtime/ops/linear.h"

#include <algorithm>
#include <limits>
#include <vector>

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
  const VecAct act = vec_act(activation);
  if (rows == 1) return forward_row(x, y, act);
  const auto add_bias_act = vec_ops().add_bias_act;
  // Chunks of 16-column blocks, one per CPU and ≥ 2^16 multiply-adds: sgemm packs
  // its inputs per call (four chunks per CPU ran 7% slower on one thread). Each
  // chunk adds its bias and activation.
  parallel_for(out_, chunk_grain(out_, rows * in_, int64_t(1) << 16, 16, 1), [&](int64_t c0, int64_t c1) {
    gemm_f32_nn(rows, c1 - c0, in_, x, in_, weight_t_.data() + c0, out_, y + c0, out_);
    for (int64_t r = 0; r < rows; ++r) add_bias_act(y + r * out_ + c0, bias_.data() + c0, c1 - c0, act);
  });
}

// One row (a greedy decoding step) streams Wᵀ once. Column slices of Wᵀ are
// strided, and sgemm's one-row path reads them at half the bandwidth of whole
// rows (ddtp-en-de-small, 2 slices: 1.4x a step's time at one thread), so the
// split is over input rows instead: chunk i sums x[k0:k1]·Wᵀ[k0:k1, :], a
// contiguous block, and the partial sums are added in chunk order afterwards
// (the same sum at any thread count). Chunks from 2^15 multiply-adds, so the
// d × d products split too: left on one thread, the other member fell asleep
// between the bigger ones and woke late (2^16: 0.81x of c98c426 at 2 threads).
void LinearF32::forward_row(const float* x, float* y, VecAct act) const {
  const int64_t grain = chunk_grain(in_, out_, int64_t(1) << 15, 16, 1);
  const int64_t chunks = (in_ + grain - 1) / grain;
  thread_local std::vector<float> partial;
  if (chunks > 1) partial.resize(static_cast<size_t>((chunks - 1) * out_));
  float* part = partial.data();
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t k0 = c * grain, k1 = std::min(in_, k0 + grain);
      gemm_f32_nn(1, out_, k1 - k0, x + k0, in_, weight_t_.data() + k0 * out_, out_, c == 0 ? y : part + (c - 1) * out_,
                  out_);
    }
  });
  for (int64_t c = 1; c < chunks; ++c) {
    const float* p = part + (c - 1) * out_;
    for (int64_t j = 0; j < out_; ++j) y[j] += p[j];
  }
  vec_ops().add_bias_act(y, bias_.data(), out_, act);
}

void Linear::forward_argmax(const float* x, int64_t rows, const std::vector<int>& masked, int* best) const {
  const int64_t n = out_features();
  thread_local std::vector<float> y;
  y.resize(rows * n);
  forward(x, rows, y.data());
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y.data() + r * n;
    for (int id : masked) row[id] = -std::numeric_limits<float>::infinity();
    best[r] = static_cast<int>(vec_ops().argmax(row, n));
  }
}

}  // namespace qtool::runtime
