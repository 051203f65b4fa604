// Binary-code quantization of a linear weight (Chung et al. 2020, "Extremely Low
// Bit Transformer Quantization"; the alternating method of Xu et al. 2018):
//   w ≈ Σ_b α_b · s_b,  s_b ∈ {−1, +1}^n,  one α per plane per (row, group).
// Greedy start: α₁ = mean|w|, s₁ = sign(w) (sign(0) = +1), then the same on the
// residual w − α₁s₁ for each further plane. Alternating refinement then repeats
// (a) least-squares α for fixed signs and (b) the nearest of the 2^q sign
// combinations for fixed α; a step that would raise the error is not taken.
//
// Activation-aware (column_weights = h, h_i ≥ 0 per input column): the layer's
// output error E‖(W − Ŵ)x‖² ≈ Σ_i h_i (w_i − ŵ_i)² with h_i = E[x_i²], so the
// objective becomes the h-weighted squared error: greedy α = Σ h|r| / Σ h, the
// least-squares step solves (BᵀHB)α = BᵀHw, and a step is taken only when it
// lowers the weighted error. The sign step is unchanged (the nearest value per
// weight does not depend on h_i). A row or group whose weights sum to 0 is
// quantized unweighted. The α are then rounded to halves, as the .qtm stores them.
#pragma once
#include <cstdint>

#include "model/qtensor.h"

namespace qtool::quantize {

struct BinaryCodeOptions {
  int bits = 2;            // sign planes, 1..4
  int64_t group_size = 0;  // columns per α: 0 = the whole row, else a multiple of 4
  int iterations = 10;     // alternating refinement rounds; 0 = greedy only
  const float* column_weights = nullptr;  // h_i ≥ 0 per input column (cols of them); null = unweighted
  bool half_alphas = true;  // round α to IEEE halves (what a .qtm stores); off only to test the method exactly
};

struct BinaryCodeResult {
  BinaryCodeTensor tensor;
  double relative_error = 0;         // ‖W − Ŵ‖_F / ‖W‖_F (0 for W = 0), with the stored float α
  double greedy_relative_error = 0;  // the same for the greedy start
  // √(Σ h (w − ŵ)² / Σ h w²) over the whole matrix (0 when the denominator is 0);
  // equals relative_error without column weights.
  double weighted_relative_error = 0;
};

// w: row-major [rows, cols], finite; column_weights finite and ≥ 0. Throws qtool::Error on bad arguments.
BinaryCodeResult quantize_binary_code(const float* w, int64_t rows, int64_t cols, const BinaryCodeOptions& opt);

}  // namespace qtool::quantize
