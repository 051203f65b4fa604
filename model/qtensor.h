// Quantized tensors as values that say what they are. A linear weight [out, in]
// is either FP32 or INT8 with symmetric scales: w ≈ scale[o] · q[o, i], one scale
// per output channel (per_channel) or one for the whole tensor (per_tensor).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qtool {

enum class QType : uint8_t { f32 = 0, int8_per_channel = 1, int8_per_tensor = 2 };
const char* qtype_name(QType t);
// Bits per weight for size accounting (scales included by the caller).
int qtype_bits(QType t);

struct Int8Tensor {
  QType type = QType::int8_per_channel;
  int64_t rows = 0, cols = 0;   // [out, in]
  std::vector<int8_t> values;   // row-major [rows, cols], in [-127, 127]
  std::vector<float> scales;    // rows entries (per_channel) or 1 (per_tensor)
  float scale(int64_t row) const { return scales.size() == 1 ? scales[0] : scales[row]; }
};

}  // namespace qtool
