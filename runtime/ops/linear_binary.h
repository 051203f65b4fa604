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
  void forward(const float* x, int64_t rows, float* y) const override;
  // Members take contiguous row blocks (hence columns) of the stacked parts.
  void forward_shared(const float* x, int64_t rows, float* y, const Team& team) const override;
  bool splits() const override { return true; }
  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }

 private:
  // The member's share: x quantized, its row blocks of the parts, its columns finished.
  void compute(const float* x, int64_t rows, float* y, const Team& team) const;
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
  void forward(const float* x, int64_t rows, float* y) const override;
  // Members take contiguous row blocks of the clusters, balanced by bit planes.
  void forward_shared(const float* x, int64_t rows, float* y, const Team& team) const override;
  bool splits() const override { return true; }
  int64_t in_features() const override { return e_->cols; }
  int64_t out_features() const override { return e_->rows; }

 private:
  // The member's share of the clusters' row blocks, scattered.
  void compute(const float* x, int64_t rows, float* y, const Team& team) const;
  // Logits [j0, j1) of the frequency order: sorted (rows × vocab, this member's
  // columns filled) × scale + bias, scattered to vocabulary order.
  void scatter(const float* sorted, int64_t rows, const float* scale, int64_t j0, int64_t j1, float* y) const;

  std::shared_ptr<const ClusteredBinaryEmbedding> e_;
  std::vector<float> bias_;
};

}  // namespace qtool::runtime
