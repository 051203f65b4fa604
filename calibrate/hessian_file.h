// The hessian file: per linear-layer input, the second-moment matrix
// H = E[x xᵀ] (d × d) that GPTQ weighs a layer's output error with
// (quantize/gptq.h). calib.json keeps only its diagonal (column_mean_square);
// a 1024-wide FFN input's H is 4 MiB, so it has its own binary file.
// Little-endian, no padding (docs/calibration.md):
//   magic       8 bytes  "QTHESSN\0"
//   version     u32      1
//   count       u32      tensors, 1..4096
//   checksum    u32 length (1..256) + bytes: the model's "crc32:…" (as calib.json)
//   sentences   i64      calibration sentences, ≥ 1
//   count × {   name     u32 length (1..1024) + bytes (calibration names, unique)
//               dim      i64      input width, 1..65536
//               rows     i64      input rows averaged over, ≥ 1
//               values   dim·dim f32, row-major: Σ x xᵀ / rows; finite,
//                        symmetric, diagonal ≥ 0 }
//   nothing after the last tensor.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qtool::calibrate {

struct InputHessian {
  int64_t dim = 0;
  int64_t rows = 0;           // how many input rows the mean is over
  std::vector<float> values;  // [dim][dim], E[x xᵀ]
};

struct HessianSet {
  std::string model_checksum;
  int64_t sentences = 0;
  std::map<std::string, InputHessian> tensors;  // by calibration name (linear_input_name)
};

std::string hessians_to_bytes(const HessianSet& h);
// Validated as the header comment says; every refusal is one line naming `file` and the field.
HessianSet parse_hessians(const std::string& bytes, const std::string& file);

}  // namespace qtool::calibrate
