#include "runtime/ops/linear_binary.h"

#include <vector>

#include "runtime/kernels/gemm_binary.h"
#include "runtime/kernels/vec_ops.h"
#include "runtime/ops/elementwise.h"

namespace qtool::runtime {
namespace {

// Per-row dynamic u8 quantization of x [rows, k] (a = q + 128); returns the scales.
void quantize_rows(const float* x, int64_t rows, int64_t k, std::vector<uint8_t>& a, std::vector<float>& scale) {
  const VecOps& ops = vec_ops();
  a.resize(rows * k);
  scale.resize(rows);
  for (int64_t r = 0; r < rows; ++r) scale[r] = ops.quantize_u8(x + r * k, k, 0.0f, a.data() + r * k);
}

}  // namespace

LinearBinary::LinearBinary(const std::vector<LinearWeights>& parts) {
  in_ = parts.at(0).binary->cols;
  for (const LinearWeights& p : parts) {
    parts_.push_back(p.binary);
    out_ += p.binary->rows;
    bias_.insert(bias_.end(), p.bias->data.begin(), p.bias->data.end());
  }
}

void LinearBinary::forward(const float* x, int64_t rows, float* y) const {
  observe(x, rows);
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> scale;
  quantize_rows(x, rows, in_, a, scale);
  int64_t col = 0;
  for (const auto& p : parts_) {
    binary_kernels().gemm(a.data(), rows, in_, *p, y + col, out_);
    col += p->rows;
  }
  const VecOps& ops = vec_ops();
  const VecAct act = vec_act(activation);
  for (int64_t r = 0; r < rows; ++r) {
    ops.scale(y + r * out_, scale[r], out_);
    ops.add_bias_act(y + r * out_, bias_.data(), out_, act);
  }
}

LinearClustered::LinearClustered(std::shared_ptr<const ClusteredBinaryEmbedding> e, const std::vector<float>& bias)
    : e_(std::move(e)), bias_(bias) {}

void LinearClustered::forward(const float* x, int64_t rows, float* y) const {
  observe(x, rows);
  const int64_t k = e_->cols, n = e_->rows;
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> scale, sorted;
  quantize_rows(x, rows, k, a, scale);
  sorted.resize(rows * n);
  int64_t col = 0;
  for (const BinaryCodeTensor& t : e_->clusters) {
    binary_kernels().gemm(a.data(), rows, k, t, sorted.data() + col, n);
    col += t.rows;
  }
  const int32_t* order = e_->order.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = sorted.data() + r * n;
    float* out = y + r * n;
    for (int64_t j = 0; j < n; ++j) out[order[j]] = s[j] * scale[r] + bias_[order[j]];
  }
}

}  // namespace qtool::runtime
