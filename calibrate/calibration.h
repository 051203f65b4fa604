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

#include "calibrate/histogram.h"
#include "calibrate/thresholds.h"
#include "runtime/translator.h"

namespace qtool::calibrate {

struct TensorStats {
  double threshold = 0, max_abs = 0, mean_abs = 0, min = 0;
  bool one_sided = false;  // min ≥ 0: quantized asymmetrically over [0, T] (u8, zero point 0)
  int64_t count = 0;
  // Linear-layer inputs only (else empty): the mean of x_i² per input column i
  // over every observed row, the diagonal of the input Gram matrix / rows.
  std::vector<float> column_mean_square;
  // The |x| histogram, coarsened to kSummaryBins bins over [0, histogram_range),
  // for people (the pipeline report); thresholds are chosen on the full one.
  double histogram_range = 0;
  std::vector<int64_t> histogram_counts;
};

inline constexpr int kSummaryBins = 128;

struct Calibration {
  std::string model_checksum;
  Method method = Method::kl;
  int bins = 2048;
  double percentile = 99.99;
  int64_t sentences = 0;
  std::map<std::string, TensorStats> tensors;
  std::map<std::string, Histogram> histograms;  // not written to the file
  // The thresholds as static INT8 inputs, by tensor name.
  std::map<std::string, CalibratedInput> inputs() const;
};

struct CalibrateOptions {
  Method method = Method::kl;
  int bins = 2048;
  double percentile = 99.99;
  int batch_size = 32;
  bool progress = true;
};

// `model` must be the FP32 model (its products are observed while it translates).
Calibration calibrate(runtime::MarianModel& model, std::shared_ptr<const Vocabulary> vocab,
                      const std::vector<std::string>& sentences, const CalibrateOptions& opt,
                      const std::string& model_checksum);

std::string to_json(const Calibration& c);
// Validated: format, version, fields, finite positive thresholds, column_mean_square
// (when present) an array of finite numbers ≥ 0. `file` for messages.
Calibration parse_calibration(const std::string& text, const std::string& file);

// CRC-32 of a checkpoint's weights file, as "crc32:xxxxxxxx": ties a calibration to its model.
std::string model_checksum(const std::string& weights_file);

}  // namespace qtool::calibrate
