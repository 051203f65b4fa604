// Clipping thresholds T for symmetric INT8 (scale = T / 127) from a histogram of |x|.
#pragma once
#include <string>

#include "calibrate/histogram.h"

namespace qtool::calibrate {

// `output` (the default): each linear layer's input range is the candidate whose
// INT8 product is closest to FP32 (product_error.h); the histogram methods give
// a fixed threshold from the |x| histogram alone.
enum class Method { output, kl, max, percentile, mse };
Method parse_method(const std::string& name);  // throws qtool::Error on an unknown name
const char* method_name(Method m);

// KL divergence as in TensorRT's entropy calibration: for each candidate cut i
// (128 ≤ i ≤ bins), P = the first i bins with the clipped tail folded into the
// last, Q = P quantized to 128 levels and expanded back over P's non-empty bins;
// the cut with the least KL(P‖Q) gives T = (i + 0.5) · bin width.
// `skip_zero_bin` (one-sided inputs): the first bin is left out of P and Q. A
// ReLU output is mostly exact zeros, which stay exact at any threshold; left
// in, their spike makes KL trade the whole tail for resolution near zero.
double kl_threshold(const Histogram& h, int levels = 128, bool skip_zero_bin = false);
// The value below which `percentile` % of |x| falls (bin upper edge).
double percentile_threshold(const Histogram& h, double percentile);
// The cut that minimises the expected squared error of clipping + rounding.
double mse_threshold(const Histogram& h, int levels = 127);

// `one_sided`: the input is never negative and gets all 256 u8 levels over [0, T].
// `output` needs the product, so from a histogram alone it is `kl` (the inputs
// of the attention products, which are not linear layers).
double threshold(const Histogram& h, Method m, double percentile = 99.99, bool one_sided = false);

}  // namespace qtool::calibrate
