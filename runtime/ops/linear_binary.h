// y = x·Wᵀ + b with binary-code weights (w ≈ Σ α·s, s ∈ {−1, +1}), computed on
// the packed sign planes: x is quantized per row to u8 at run time (dynamic,
// symmetric: s_x = max|x_row| / 127), kernels/gemm_binary forms Σ α · Σ q·s
// exactly in integers per plane and group, and one pass applies s_x, the bias
// and the activation. The planes are used where they lie (a mapped .qtm).
#pragma once
#include <memory>

#include "model/clustered_embedding.h"
#include "runtime/ops/linear.h"

namespace qtool::runtime {

class LinearBinary final : public Linear {
 public:
  // Several nn.Linear stacked along the output dimension (q, k, v → one product).
  explicit LinearBinary(const std::vector<LinearWeights>& parts);
  // The row blocks of the stacked parts (hence columns) are the threads' chunks.
  void forward(const float* x, int64_t rows, float* y) const override;
  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }

 private:
  // Columns [c0, c1) of every row: × the row's activation scale, + bias, activation.
  void finish(float* y, int64_t rows, const float* scale, int64_t c0, int64_t c1) const;

  int64_t in_ = 0, out_ = 0;
  std::vector<std::shared_ptr<const BinaryCodeTensor>> parts_;
  std::vector<float> bias_;
};

// The output projection of a tied model whose embedding is binary-coded in
// frequency clusters: each cluster's logits come from its own planes, written
// in frequency order, then scattered back to vocabulary order with the bias.
class LinearClustered final : public Linear {
 public:
  LinearClustered(std::shared_ptr<const ClusteredBinaryEmbedding> e, const std::vector<float>& bias);
  // The clusters' row blocks are the threads' chunks; each scatters its own logits.
  void forward(const float* x, int64_t rows, float* y) const override;
  int64_t in_features() const override { return e_->cols; }
  int64_t out_features() const override { return e_->rows; }

 private:
  // Logits [j0, j1) of the frequency order: sorted (rows × vocab, those
  // columns filled) × scale + bias, scattered to vocabulary order.
  void scatter(const float* sorted, int64_t rows, const float* scale, int64_t j0, int64_t j1, float* y) const;

  std::shared_ptr<const ClusteredBinaryEmbedding> e_;
  std::vector<float> bias_;
};

}  // namespace qtool::runtime
