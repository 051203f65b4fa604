// The calibration file (JSON, docs/calibration.md): what calibrate() found, as
// written by to_json() and read back, validated, by parse_calibration(). Apart
// from calibration.h so that reading a file needs no runtime.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "calibrate/hessian_file.h"
#include "calibrate/histogram.h"
#include "calibrate/input_mode.h"
#include "calibrate/thresholds.h"
#include "model/weights.h"

namespace qtool::calibrate {

struct TensorStats {
  double threshold = 0, max_abs = 0, mean_abs = 0, min = 0, max = 0;
  bool one_sided = false;  // min ≥ 0 was observed
  // The static range: symmetric s8 over [−T, T], or (asymmetric) u8 with this
  // zero point over [−z·T/(255 − z), T]; a one-sided input has z = 0.
  bool asymmetric = false;
  int32_t zero_point = 0;
  int64_t count = 0;
  // Linear-layer inputs (version 2): how the range was chosen ("kl", "grid", …),
  // the fraction of held-back values it clips, the relative squared output
  // error ‖ŷ − y‖²/‖y‖² of the product with it and with dynamic quantization on
  // held-back rows, and what the input becomes (the fallback rule); negative
  // errors = not measured.
  std::string chosen_by;
  double clipped_fraction = -1, static_error = -1, dynamic_error = -1;
  InputMode int8_input = InputMode::static_range;
  // The static range these fields describe.
  CalibratedInput range() const { return {static_cast<float>(threshold), asymmetric, zero_point}; }
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
  // With CalibrateOptions::hessians: E[x xᵀ] of every linear-layer input, for the
  // hessian file (hessian_file.h), not calib.json.
  std::map<std::string, InputHessian> hessians;
  // The static INT8 inputs, by tensor name; with `fallbacks`, only those whose
  // int8_input is "static" (the others are in int8_modes()).
  std::map<std::string, CalibratedInput> inputs(bool fallbacks = false) const;
  std::map<std::string, InputMode> int8_modes() const;
};

std::string to_json(const Calibration& c);
// Validated: format, version, fields, finite positive thresholds, column_mean_square
// (when present) an array of finite numbers ≥ 0. `file` for messages.
Calibration parse_calibration(const std::string& text, const std::string& file);

}  // namespace qtool::calibrate
