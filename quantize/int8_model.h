// Quantizes every linear layer of a resolved Marian model to INT8 weights
// (q/k/v/out projections, fc1, fc2 in encoder and decoder, and the output
// projection); embeddings, LayerNorms and biases stay FP32.
#pragma once
#include <map>
#include <set>
#include <string>

#include "model/weights.h"

namespace qtool::quantize {

struct Int8Options {
  QType weight_type = QType::int8_per_channel;
  bool output_projection = true;
  bool embeddings = false;  // INT8 embedding rows (per-row scales)
  // Static activations follow the calibration's per-layer verdict (int8_input):
  // a layer whose static input was judged clearly worse than dynamic runs
  // dynamic, or FP32 (config "int8.fallback", default true).
  bool fallback = true;
  // Not part of the file: the inputs (calibration names) whose products stay
  // FP32, from the calibration's verdict.
  std::set<std::string> fp32_inputs;
};

void quantize_linears_int8(MarianWeights& w, const Int8Options& opt);

// Static activations: gives each INT8 layer named in `inputs` its calibrated
// input range (a product reads it from its first part); returns how many were set.
int set_calibrated_inputs(MarianWeights& w, const std::map<std::string, CalibratedInput>& inputs);

}  // namespace qtool::quantize
