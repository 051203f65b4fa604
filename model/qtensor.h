// Quantized tensors as values that say what they are. A linear weight [out, in]
// is either FP32, INT8 with symmetric scales (w ≈ scale[o] · q[o, i], one scale
// per output channel or one for the whole tensor), or binary code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/tensor.h"

namespace qtool {

enum class QType : uint8_t { f32 = 0, int8_per_channel = 1, int8_per_tensor = 2, binary_code = 3 };
const char* qtype_name(QType t);
// Bits per weight for size accounting (scales included by the caller); 0 for
// binary_code, whose cost depends on its bits and group size (binary_code_bytes).
int qtype_bits(QType t);

struct Int8Tensor {
  QType type = QType::int8_per_channel;
  int64_t rows = 0, cols = 0;   // [out, in]
  std::vector<int8_t> values;   // row-major [rows, cols], in [-127, 127]
  std::vector<float> scales;    // rows entries (per_channel) or 1 (per_tensor)
  float scale(int64_t row) const { return scales.size() == 1 ? scales[0] : scales[row]; }
};

// Symmetric INT8 weight quantization: scale = max|w| / 127 over each output
// channel (or the whole tensor), q = round(w / scale). Zero rows get scale 1.
// Here, with the type, because calibration measures products with the INT8
// weights the quantizer will make.
Int8Tensor quantize_int8(const Tensor& weight, QType type = QType::int8_per_channel);
// scale(row) · q, row-major [rows, cols]: the weight an INT8 tensor stands for.
std::vector<float> dequantize(const Int8Tensor& q);

// Binary-code quantization (Xu et al. 2018; Chung et al. 2020):
//   w[o, i] ≈ Σ_b alpha[o][b][g(i)] · s_b[o, i],  s ∈ {−1, +1},  g(i) = i / group_size.
//
// The sign planes are stored in the kernels' layout, which is also the file
// layout: word (blk, quad, b) = planes[(blk · col_quads() + quad) · bits + b], and
// bit (r·4 + c) of that word is the sign of plane b at row blk·16 + r, column
// quad·4 + c (1 = +1, 0 = −1; padding rows and columns are 0). One word is thus
// a 16-row × 4-column tile, the shape one vpdpbusd consumes once the bits are
// expanded to bytes (AVX-512BW: one masked byte move).
//
// Storage: a tensor owns `planes` and `alphas`, or is a view of external memory
// (a memory-mapped .qtm) made with view(); kernels and readers always go through
// planes_data() / alphas_data(), which work for both. A view does not own its
// memory: it must outlive the tensor.
struct BinaryCodeTensor {
  int64_t rows = 0, cols = 0;   // [out, in]
  int bits = 0;                 // sign planes q, 1..4
  int64_t group_size = 0;       // columns sharing one alpha per plane: cols when per row,
                                // else a multiple of 4 (tiles never straddle groups)
  std::vector<uint64_t> planes; // owned words (empty for a view), plane_words() of them
  std::vector<float> alphas;    // owned [rows][bits][groups] (empty for a view)

  int64_t groups() const { return (cols + group_size - 1) / group_size; }
  int64_t row_blocks() const { return (rows + 15) / 16; }
  int64_t col_quads() const { return (cols + 3) / 4; }
  int64_t quads_per_group() const { return (group_size + 3) / 4; }
  int64_t plane_words() const { return row_blocks() * col_quads() * bits; }
  int64_t alpha_count() const { return rows * bits * groups(); }
  float alpha(int64_t row, int b, int64_t g) const { return alphas_data()[(row * bits + b) * groups() + g]; }

  const uint64_t* planes_data() const { return ext_planes_ ? ext_planes_ : planes.data(); }
  const float* alphas_data() const { return ext_alphas_ ? ext_alphas_ : alphas.data(); }
  bool is_view() const { return ext_planes_ != nullptr; }

  // An owning tensor with zeroed planes and alphas. group_size 0 means per row.
  // Throws qtool::Error on bad sizes.
  static BinaryCodeTensor make(int64_t rows, int64_t cols, int bits, int64_t group_size);
  // A non-owning tensor over plane_words() words and alpha_count() floats.
  static BinaryCodeTensor view(int64_t rows, int64_t cols, int bits, int64_t group_size,
                               const uint64_t* planes, const float* alphas);
  // Planes in external memory, α owned (a .qtm stores α as halves, widened at load).
  static BinaryCodeTensor view(int64_t rows, int64_t cols, int bits, int64_t group_size,
                               const uint64_t* planes, std::vector<float> alphas);

 private:
  const uint64_t* ext_planes_ = nullptr;
  const float* ext_alphas_ = nullptr;
};

// The stored sign (+1 or −1) of plane b at (row, col), and the decoded weight.
int binary_code_sign(const BinaryCodeTensor& t, int b, int64_t row, int64_t col);
float binary_code_value(const BinaryCodeTensor& t, int64_t row, int64_t col);
// Sets the sign of plane b at (row, col) in an owning tensor.
void binary_code_set_sign(BinaryCodeTensor& t, int b, int64_t row, int64_t col, bool positive);
// Bytes of planes and alphas (halves), padding included (what the tensor occupies on disk).
int64_t binary_code_bytes(const BinaryCodeTensor& t);
// The same for a shape, before quantizing (group_size 0: per row).
int64_t binary_code_bytes(int64_t rows, int64_t cols, int bits, int64_t group_size);

}  // namespace qtool
