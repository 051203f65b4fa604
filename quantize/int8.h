// Symmetric INT8 weight quantization: scale = max|w| / 127 over each output
// channel (or the whole tensor), q = round(w / scale). Zero rows get scale 1.
#pragma once
#include "model/qtensor.h"
#include "model/tensor.h"

namespace qtool::quantize {

Int8Tensor quantize_int8(const Tensor& weight, QType type = QType::int8_per_channel);

}  // namespace qtool::quantize
