#include "runtime/ops/linear_binary.h"

#include <algorithm>
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

// The row blocks [g0, g1) of `count` matrices stacked along the output (matrix(i)
// gives each), numbered across them: fn(i, first block, last block, matrix i's
// first output column) per matrix the range touches.
template <typename Matrix, typename F>
void for_blocks_in(size_t count, Matrix&& matrix, int64_t g0, int64_t g1, F&& fn) {
  int64_t base = 0, col = 0;
  for (size_t i = 0; i < count && base < g1; ++i) {
    const BinaryCodeTensor& w = matrix(i);
    const int64_t b0 = std::max<int64_t>(g0 - base, 0), b1 = std::min<int64_t>(g1 - base, w.row_blocks());
    if (b0 < b1) fn(i, b0, b1, col);
    base += w.row_blocks();
    col += w.rows;
  }
}

// A grain of ≥ 2^18 bit products: each chunk prepares its own copy of the
// activations (and the AVX-512 lookup tables), about one block's work.
template <typename Matrix>
int64_t block_grain(size_t count, Matrix&& matrix, int64_t rows) {
  int64_t blocks = 0, bit_products = 0;
  for (size_t i = 0; i < count; ++i) {
    const BinaryCodeTensor& w = matrix(i);
    blocks += w.row_blocks();
    bit_products += rows * w.rows * w.cols * w.bits;
  }
  return chunk_grain(blocks, bit_products / std::max<int64_t>(blocks, 1), int64_t(1) << 18);
}

template <typename Matrix>
int64_t total_blocks(size_t count, Matrix&& matrix) {
  int64_t blocks = 0;
  for (size_t i = 0; i < count; ++i) blocks += matrix(i).row_blocks();
  return blocks;
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

void LinearBinary::finish(float* y, int64_t rows, const float* scale, int64_t c0, int64_t c1) const {
  const VecOps& ops = vec_ops();
  const VecAct act = vec_act(activation);
  for (int64_t r = 0; r < rows; ++r) {
    ops.scale(y + r * out_ + c0, scale[r], c1 - c0);
    ops.add_bias_act(y + r * out_ + c0, bias_.data() + c0, c1 - c0, act);
  }
}

void LinearBinary::forward(const float* x, int64_t rows, float* y) const {
  observe(x, rows);
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> scale;
  quantize_rows(x, rows, in_, a, scale);
  // (Chunks run on other threads: they see this thread's buffers by pointer.)
  const uint8_t* A = a.data();
  const float* S = scale.data();
  const auto part = [&](size_t i) -> const BinaryCodeTensor& { return *parts_[i]; };
  const size_t count = parts_.size();
  parallel_for(total_blocks(count, part), block_grain(count, part, rows), [&](int64_t g0, int64_t g1) {
    for_blocks_in(count, part, g0, g1, [&](size_t i, int64_t b0, int64_t b1, int64_t col) {
      binary_kernels().gemm_blocks(A, rows, in_, *parts_[i], b0, b1, y + col, out_);
      finish(y, rows, S, col + 16 * b0, col + std::min(16 * b1, parts_[i]->rows));
    });
  });
}

LinearClustered::LinearClustered(std::shared_ptr<const ClusteredBinaryEmbedding> e, const std::vector<float>& bias)
    : e_(std::move(e)), bias_(bias) {}

void LinearClustered::scatter(const float* sorted, int64_t rows, const float* scale, int64_t j0, int64_t j1,
                              float* y) const {
  const int64_t n = e_->rows;
  const int32_t* order = e_->order.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = sorted + r * n;
    float* out = y + r * n;
    for (int64_t j = j0; j < j1; ++j) out[order[j]] = s[j] * scale[r] + bias_[order[j]];
  }
}

void LinearClustered::forward(const float* x, int64_t rows, float* y) const {
  observe(x, rows);
  const int64_t k = e_->cols, n = e_->rows;
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> scale, sorted;
  quantize_rows(x, rows, k, a, scale);
  sorted.resize(rows * n);
  const uint8_t* A = a.data();
  const float* S = scale.data();
  float* logits = sorted.data();
  const auto cluster = [&](size_t i) -> const BinaryCodeTensor& { return e_->clusters[i]; };
  const size_t count = e_->clusters.size();
  parallel_for(total_blocks(count, cluster), block_grain(count, cluster, rows), [&](int64_t g0, int64_t g1) {
    for_blocks_in(count, cluster, g0, g1, [&](size_t i, int64_t b0, int64_t b1, int64_t col) {
      const BinaryCodeTensor& w = e_->clusters[i];
      binary_kernels().gemm_blocks(A, rows, k, w, b0, b1, logits + col, n);
      scatter(logits, rows, S, col + 16 * b0, col + std::min(16 * b1, w.rows), y);
    });
  });
}

}  // namespace qtool::runtime
