// Binary-code quantization of a linear weight (Chung et al. 2020, "Extremely Low
// Bit Transformer Quantization"; the alternating method of Xu et al. 2018):
//   w ≈ Σ_b α_b · s_b,  s_b ∈ {−1, +1}^n,  one α per plane per (row, group).
// Greedy start: α₁ = mean|w|, s₁ = sign(w) (sign(0) = +1), then the same on the
// residual w − α₁s₁ for each further plane. Alternating refinement then repeats
// (a) least-squares α for fixed signs and (b) the nearest of the 2^q sign
// combinations for fixed α; a step that would raise the error is not taken.
#pragma once
#include <cstdint>

#include "model/qtensor.h"

namespace qtool::quantize {

struct BinaryCodeOptions {
  int bits = 2;            // sign planes, 1..4
  int64_t group_size = 0;  // columns per α: 0 = the whole row, else a multiple of 4
  int iterations = 10;     // alternating refinement rounds; 0 = greedy only
};

struct BinaryCodeResult {
  BinaryCodeTensor tensor;
  double relative_error = 0;         // ‖W − Ŵ‖_F / ‖W‖_F (0 for W = 0), with the stored float α
  double greedy_relative_error = 0;  // the same for the greedy start
};

// w: row-major [rows, cols], finite. Throws qtool::Error on bad arguments.
BinaryCodeResult quantize_binary_code(const float* w, int64_t rows, int64_t cols, const BinaryCodeOptions& opt);

}  // namespace qtool::quantize
