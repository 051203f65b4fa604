// GPTQ for binary codes (Frantar et al. 2022, "GPTQ"; the OBQ column update):
// minimise the layer's output error tr((W − Ŵ) H (W − Ŵ)ᵀ), H = E[x xᵀ] of its
// input, instead of the weight error.
//   1. Start: the alternating binary code weighted by diag H (binary_code.h).
//      This fixes each (row, group)'s codebook {Σ_b ±α_b}.
//   2. Sweep: with U the upper Cholesky factor of (H + λ·mean(diag H)·I)⁻¹,
//      column by column, round every row's w_j to its nearest codebook value q_j
//      and push the error onto the columns not yet rounded:
//      W[:, j+1:] −= ((w_j − q_j) / U_jj) · U[j, j+1:]  (lazy in blocks of 128).
//   3. Refit α per row for the fixed signs by H-weighted least squares:
//      (B H Bᵀ) α = B H w, B the (bits·groups) × cols matrix of signs.
//   Steps 2–3 repeat `rounds` times; the (α, signs) with the lowest output error
//   on the undamped H is kept, the start included, so GPTQ is never worse on H.
// act_order sweeps columns by decreasing diag H (the groups stay the stored ones).
// With more than 16 groups per row the refit is skipped (its system grows as
// (bits·groups)³); the sweep still runs with the start's α.
#pragma once
#include <cstdint>
#include <vector>

#include "quantize/binary_code.h"

namespace qtool::quantize {

struct GptqOptions {
  double damp = 0.01;      // λ: H + λ·mean(diag H)·I is factored (keeps the inverse stable)
  int rounds = 2;          // sweep + α refit rounds, 1..10
  bool act_order = false;  // sweep by decreasing diag H
  bool embedding = false;   // also a tied clustered embedding, as the output projection (lm_head's H)
  // Each layer's H taken with the layers before it already quantized (GPTQ's
  // own order): needs the source lines, not a hessian file (pipeline/sequential_gptq).
  bool sequential = false;
};

struct GptqResult {
  BinaryCodeResult code;            // the tensor and its weight errors
  double start_output_error = 0;    // √(tr(D H Dᵀ) / tr(W H Wᵀ)) of the alternating start
  double output_error = 0;          // the same for the result (≤ start_output_error)
};

// w: [rows, cols] row-major, finite; hessian: [cols, cols] row-major, symmetric,
// finite, diagonal ≥ 0. opt.column_weights is ignored (diag H weighs the start).
GptqResult quantize_binary_code_gptq(const float* w, int64_t rows, int64_t cols, const BinaryCodeOptions& opt,
                                     const float* hessian, const GptqOptions& gptq);

// One sweep (step 2) with the α of `t` held fixed: the code of every weight
// ([rows][cols], bit b set = plane b positive). Exposed for tests.
std::vector<uint8_t> gptq_sweep(const float* w, const BinaryCodeTensor& t, const float* hessian,
                                const GptqOptions& gptq);

// tr((W − Ŵ) H (W − Ŵ)ᵀ): the output error summed over rows.
double hessian_error(const float* w, const BinaryCodeTensor& t, const float* hessian);

// Sequential GPTQ with error compensation (as GPTAQ, Li et al. 2025): the
// weights W̃ = W C (H + λ·mean(diag H)·I)⁻¹ that best reproduce the FP32 layer's
// output W x from the partly quantized model's input x̂, i.e. minimise
// Σ‖W x − W̃ x̂‖² (H = E[x̂ x̂ᵀ], C = E[x x̂ᵀ], λ = damp). Quantizing W̃ under H then
// minimises Σ‖W x − Ŵ x̂‖². A column no input reaches (H_jj = 0) keeps W's.
std::vector<float> compensated_weights(const float* w, int64_t rows, int64_t cols, const float* hessian,
                                       const float* cross, double damp);

}  // namespace qtool::quantize
