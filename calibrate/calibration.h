// Calibration: run the FP32 model over real sentences (greedy decoding, so the
// decoder's activations are those of real step-by-step translation), histogram
// the input of every matrix product, and pick a clipping threshold per input.
//
// The calibration file (JSON, docs/calibration.md):
//   {"format": "qtool-calibration", "version": 1, "model_checksum": "crc32:…",
//    "method": "kl", "bins": 2048, "percentile": 99.99, "sentences": 500,
//    "tensors": {"model.encoder.layers.0.fc1": {"threshold": …, "max_abs": …,
//                 "mean_abs": …, "min": …, "one_sided": false, "count": …,
//                 "column_mean_square": [in_features floats]}, …}}
// (column_mean_square only for linear-layer inputs: E[x_i²] per input column.)
// Names are those of the first nn.Linear reading the input (q_proj for q/k/v);
// the attention products' inputs are "<attention>.matmul_qk.q", ".matmul_qk.k",
// ".matmul_pv.p" (softmax probabilities) and ".matmul_pv.v".
#pragma once
#include <map>
#include <string>
#include <vector>

#include "calibrate/calibration_file.h"
#include "calibrate/product_error.h"
#include "calibrate/thresholds.h"
#include "runtime/translator.h"

namespace qtool::calibrate {

struct CalibrateOptions {
  Method method = Method::output;
  FallbackRule fallback;  // when a linear layer's static input is judged worse than dynamic
  int bins = 2048;
  double percentile = 99.99;
  int batch_size = 32;
  bool progress = true;
  bool hessians = false;  // also record E[x xᵀ] per linear-layer input (GPTQ; Calibration::hessians)
};

// `model` must be the FP32 model built from `weights` (its products are observed
// while it translates; the weights give each linear input's product, whose
// INT8 output error chooses and judges the input's range).
Calibration calibrate(runtime::MarianModel& model, MarianWeights& weights, std::shared_ptr<const Vocabulary> vocab,
                      const std::vector<std::string>& sentences, const CalibrateOptions& opt,
                      const std::string& model_checksum);

// CRC-32 of a checkpoint's weights file, as "crc32:xxxxxxxx": ties a calibration to its model.
std::string model_checksum(const std::string& weights_file);

}  // namespace qtool::calibrate
