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

// A team member's share of the row blocks of `count` matrices stacked along the
// output (matrix(i) gives each): contiguous, balanced by bit planes (a block's
// work is proportional to them). Calls fn(i, first block, last block, matrix i's
// first output column) per matrix it touches; returns the member's columns [c0, c1).
template <typename Matrix, typename F>
std::pair<int64_t, int64_t> for_member_blocks(size_t count, Matrix&& matrix, const Team& team, F&& fn) {
  int64_t work = 0;
  for (size_t i = 0; i < count; ++i) work += matrix(i).row_blocks() * matrix(i).bits;
  const int64_t from = team.begin(work), to = team.end(work);
  int64_t done = 0, col = 0, c0 = -1, c1 = -1;
  for (size_t i = 0; i < count; ++i) {
    const BinaryCodeTensor& w = matrix(i);
    // The member owns the blocks whose work starts in [from, to).
    const auto first_at = [&](int64_t at) {
      return std::clamp<int64_t>((at - done + w.bits - 1) / w.bits, 0, w.row_blocks());
    };
    const int64_t b0 = first_at(from), b1 = first_at(to);
    if (b0 < b1) {
      fn(i, b0, b1, col);
      if (c0 < 0) c0 = col + 16 * b0;
      c1 = col + std::min(16 * b1, w.rows);
    }
    done += w.row_blocks() * w.bits;
    col += w.rows;
  }
  if (c0 < 0) c0 = c1 = 0;
  return {c0, c1};
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
  int64_t bit_products = 0;
  for (const auto& p : parts_) bit_products += rows * p->rows * p->cols * p->bits;
  run_team(binary_threads(bit_products), [&](const Team& t) { compute(x, rows, y, t); });
}

void LinearBinary::forward_shared(const float* x, int64_t rows, float* y, const Team& team) const {
  if (team.solo()) return forward(x, rows, y);
  compute(x, rows, y, team);
}

void LinearBinary::compute(const float* x, int64_t rows, float* y, const Team& team) const {
  // Every member quantizes x itself (a few KB): cheaper than handing it over.
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> scale;
  quantize_rows(x, rows, in_, a, scale);
  const auto [c0, c1] = for_member_blocks(
      parts_.size(), [&](size_t i) -> const BinaryCodeTensor& { return *parts_[i]; }, team,
      [&](size_t i, int64_t b0, int64_t b1, int64_t col) {
        binary_kernels().gemm_blocks(a.data(), rows, in_, *parts_[i], b0, b1, y + col, out_);
      });
  finish(y, rows, scale.data(), c0, c1);
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
  int64_t bit_products = 0;
  for (const BinaryCodeTensor& t : e_->clusters) bit_products += rows * t.rows * t.cols * t.bits;
  run_team(binary_threads(bit_products), [&](const Team& t) { compute(x, rows, y, t); });
}

void LinearClustered::forward_shared(const float* x, int64_t rows, float* y, const Team& team) const {
  if (team.solo()) return forward(x, rows, y);
  compute(x, rows, y, team);
}

void LinearClustered::compute(const float* x, int64_t rows, float* y, const Team& team) const {
  const int64_t k = e_->cols, n = e_->rows;
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> scale, sorted;  // each member reads back only its own columns
  quantize_rows(x, rows, k, a, scale);
  sorted.resize(rows * n);
  const auto [j0, j1] = for_member_blocks(
      e_->clusters.size(), [&](size_t i) -> const BinaryCodeTensor& { return e_->clusters[i]; }, team,
      [&](size_t i, int64_t b0, int64_t b1, int64_t col) {
        binary_kernels().gemm_blocks(a.data(), rows, k, e_->clusters[i], b0, b1, sorted.data() + col, n);
      });
  scatter(sorted.data(), rows, scale.data(), j0, j1, y);
}

}  // namespace qtool::runtime
