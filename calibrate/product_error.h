// Static INT8 input ranges chosen by what they do to the product, not by a
// divergence of the input histogram alone. A threshold that looks right for the
// histogram can be wrong for the layer: KL on a GELU output (a floor of −0.17,
// a tail to 4–7) clips the tail hard, and the outliers an attention output
// projection sees carry the signal. So every candidate range (the histogram
// methods' thresholds and a geometric grid, symmetric and with a zero point) is
// tried on sampled input rows through the real INT8 product (runtime
// LinearInt8 with the weights the quantizer will make), and the one whose
// output is closest to FP32 wins. The winner is then checked on rows held back
// from the choice against dynamic per-row quantization, and a layer where
// static is worse falls back (fallback_mode).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "calibrate/histogram.h"
#include "calibrate/input_mode.h"
#include "model/weights.h"

namespace qtool::calibrate {

// Input rows of one product sampled during calibration: `fit` to choose the
// range on, `check` held back to judge it. min/max are over every observed value.
struct InputSample {
  int64_t cols = 0;
  std::vector<float> fit, check;  // row-major [rows, cols]
  double min = 0, max = 0;
};

struct RangeCandidate {
  CalibratedInput input;
  std::string source;  // "kl", "mse", "percentile", "max" or "grid"
};

// Symmetric candidates when the input has negative values; asymmetric ones with
// the zero point that puts the floor min (or −T, whichever is higher) at 0; for
// a one-sided input (min ≥ 0) only zero point 0.
std::vector<RangeCandidate> range_candidates(const Histogram& h, double min, double max, double percentile);

// The relative squared output error of one product's INT8 form for a given
// input range, against its FP32 form. Products wider than `max_outputs`
// channels (the output projection) are measured on an evenly spaced subset.
class ProductErrorMeter {
 public:
  explicit ProductErrorMeter(const LinearProduct& product, int64_t max_outputs = 1024);
  ~ProductErrorMeter();
  // `rows` [n, cols]; a CalibratedInput with threshold 0 measures dynamic quantization.
  double error(const CalibratedInput& in, const std::vector<float>& rows) const;

 private:
  struct Impl;
  Impl* impl_;
};

struct ProductChoice {
  CalibratedInput input;
  std::string chosen_by;
  double clipped_fraction = 0;  // of the held-back values outside [low, T]
  double static_error = 0, dynamic_error = 0;
  InputMode mode = InputMode::static_range;
};

// The candidate with the least error on sample.fit, judged on sample.check.
ProductChoice choose_input_range(const LinearProduct& product, const InputSample& sample,
                                 const std::vector<RangeCandidate>& candidates, const FallbackRule& rule = {});
// A fixed range (an explicit method's threshold), judged the same way.
ProductChoice judge_input_range(const LinearProduct& product, const InputSample& sample, const RangeCandidate& fixed,
                                const FallbackRule& rule = {});

}  // namespace qtool::calibrate
