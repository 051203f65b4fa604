// y = x·Wᵀ + b (+ activation): the one interface every matrix product of the
// model goes through. FP32 here; quantized kinds implement the same interface.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/weights.h"
#include "runtime/kernels/vec_ops.h"
#include "runtime/parallel.h"

namespace qtool::runtime {

// Sees the input of every matrix product, by the layer's name (calibration).
struct ActivationObserver {
  virtual ~ActivationObserver() = default;
  virtual void observe(const std::string& name, const float* x, int64_t count) = 0;
  // The input of a linear layer, x [rows, cols] row-major (cols = in_features),
  // so per-column statistics are possible. Default: observe(name, x, rows · cols).
  virtual void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) {
    observe(name, x, rows * cols);
  }
  // A feed-forward sub-layer as a whole (block reconstruction): the residual
  // stream entering it (`in`) and leaving it (`out`, after its LayerNorm when
  // post-norm), [*, d] row-major; only the listed rows are real tokens (an
  // encoder batch has padding). `fc1` names the sub-layer. Default: ignored.
  virtual void observe_ffn_block(const std::string& fc1, const float* in, const float* out, int64_t d,
                                 const std::vector<int64_t>& rows) {}
};

class Linear {
 public:
  virtual ~Linear() = default;
  // x [rows, in] → y [rows, out], both dense row-major.
  // Every kind splits its output columns into chunks for the runtime's threads
  // (runtime/parallel.h) and computes each the same on any of them.
  virtual void forward(const float* x, int64_t rows, float* y) const = 0;
  // best[r] = the first index of row r's largest output, the `masked` columns
  // left out (greedy decoding: argmax of the logits after the generation rules'
  // −inf). The same choice as forward() then argmax; a kind may skip writing
  // the outputs (a 58k-column row of logits per sentence and step).
  virtual void forward_argmax(const float* x, int64_t rows, const std::vector<int>& masked, int* best) const;
  virtual int64_t in_features() const = 0;
  virtual int64_t out_features() const = 0;
  // The activation applied after the bias, fused into the product's epilogue.
  std::optional<Activation> activation;
  std::string name;                         // of the first nn.Linear it computes
  ActivationObserver* observer = nullptr;   // calibration only
  void observe(const float* x, int64_t rows) const {
    if (observer) observer->observe_linear(name, x, rows, in_features());
  }
};

class LinearF32 final : public Linear {
 public:
  // Several nn.Linear stacked along the output dimension (q, k, v → one product).
  explicit LinearF32(const std::vector<LinearWeights>& parts);
  void forward(const float* x, int64_t rows, float* y) const override;
  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }
  // Wᵀ [in, out]: a tied model's embedding reads its rows here (as columns).
  const float* weight_t() const { return weight_t_.data(); }

 private:
  void forward_row(const float* x, float* y, VecAct act) const;

  int64_t in_ = 0, out_ = 0;
  std::vector<float> weight_t_;  // [in, out]: Wᵀ, the layout the GEMM is fastest with
  std::vector<float> bias_;    // [out]
};

}  // namespace qtool::runtime
