// What a linear layer's input becomes in a statically quantized model, and the
// rule that decides it from the product's output errors (product_error.h). Apart
// from product_error.h so that reading a calibration file needs no runtime.
#pragma once
#include <string>

namespace qtool::calibrate {

// What a product's input becomes in the quantized model.
enum class InputMode { static_range, dynamic, fp32 };
const char* input_mode_name(InputMode m);  // "static", "dynamic", "fp32"
InputMode parse_input_mode(const std::string& name);  // throws qtool::Error

// Errors are ‖ŷ − y‖² / ‖y‖² of the product's output (bias and fused activation
// included) on the held-back rows. Static stays when it is at most
// `static_ratio` times dynamic's error; else dynamic, unless even dynamic's
// error exceeds `fp32_error` (8-bit inputs cannot carry this product): FP32.
// Ratio 1: static only where it is no worse than dynamic. Dynamic costs one
// max pass per row, so nothing is gained by accepting a worse static range;
// on six models 1.5 lost up to 0.13 BLEU more than 1.0 (docs/calibration.md).
struct FallbackRule {
  double static_ratio = 1.0;
  double fp32_error = 4e-3;  // ~6% RMS of the output
};
InputMode fallback_mode(double static_error, double dynamic_error, const FallbackRule& rule = {});

}  // namespace qtool::calibrate
