// Block reconstruction for binary codes (as BRECQ, Li et al. 2021, and
// OmniQuant, Shao et al. 2024, without retraining the codes): GPTQ fits each
// linear layer's output alone; a feed-forward sub-layer is fc1 → activation →
// fc2 → residual → LayerNorm, and what the next layer sees is the whole
// sub-layer's output. Here, with the signs of every plane fixed, the scales α of
// fc1 and fc2 (per row, plane and group), both biases and the LayerNorm's γ and β
// are fitted by gradient descent (Adam, full batch) so that the quantized
// sub-layer, fed the quantized model's input x̂, reproduces the FP32 model's
// output y at the same tokens: minimise Σ‖block(x̂) − y‖². The gradients are
// written out below (LayerNorm, activation, both products); one block at a time.
// The iterate with the lowest error on held-out rows (every 8th) is kept, the
// start included, so the result is never worse there than the start.
#pragma once
#include <cstdint>

#include "model/config.h"
#include "model/weights.h"

namespace qtool::quantize {

struct ReconstructionOptions {
  int iterations = 100;         // Adam steps, full batch
  double learning_rate = 1e-3;  // per step, relative to each parameter's scale
  int64_t rows = 2048;          // tokens per block (pipeline/block_reconstruction)
  bool ffn = true;              // fit the feed-forward sub-layers
  bool output = true;           // fit the output projection (output_reconstruction.h)
};

// A feed-forward sub-layer as the runtime computes it. fc1 and fc2 are FP32,
// INT8 or binary code (only a binary code's α is fitted; the others' weights
// stay as they are, their biases are fitted).
struct FfnBlock {
  LinearWeights fc1, fc2;
  LayerNormWeights norm;  // after the residual (post-norm), or on the input (pre-norm)
  Activation activation = Activation::relu;
  bool pre_norm = false;
};

// `in` the stream entering the sub-layer, y = block(in) [rows, d] row-major:
// post-norm LN(x + fc2(act(fc1(x)))), pre-norm x + fc2(act(fc1(LN(x)))), as
// the runtime, in FP32 with the decoded weights.
void ffn_block_forward(const FfnBlock& b, const float* in, int64_t rows, float* out);

struct ReconstructionResult {
  double start_error = 0, error = 0;  // √(Σ(block(x̂) − y)² / Σy²) on the held-out rows
  int best_iteration = 0;             // 0: the start was kept
};

// Fits b (new tensors; the ones it held are not written) to map `in` to
// `target`, both [rows, d]. Throws qtool::Error on mismatched shapes.
ReconstructionResult reconstruct_ffn_block(FfnBlock& b, const float* in, const float* target, int64_t rows,
                                           const ReconstructionOptions& opt);

}  // namespace qtool::quantize
