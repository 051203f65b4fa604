// The quantization config (JSON), validated on read: unknown keys and bad values
// are errors that name their JSON path. Format (docs/quantize-config.md):
//   {"version": 1,
//    "int8": {"weights": "per_channel" | "per_tensor",
//             "activations": "dynamic" | "static" (static needs a calibration file),
//             "output_projection": true,
//             "embeddings": true}}
#pragma once
#include <string>

#include "quantize/int8_model.h"

namespace qtool::quantize {

struct QuantizeConfig {
  Int8Options int8;
  std::string activations = "dynamic";
  std::string text;  // normalised JSON, recorded in the packed model
};

QuantizeConfig parse_quantize_config(const std::string& json_text, const std::string& file);

}  // namespace qtool::quantize
