#include "model/qtensor.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace qtool {

const char* qtype_name(QType t) {
  switch (t) {
    case QType::f32: return "fp32";
    case QType::int8_per_channel: return "int8/channel";
    case QType::int8_per_tensor: return "int8/tensor";
    case QType::binary_code: return "binary_code";
  }
  return "?";
}

int qtype_bits(QType t) {
  switch (t) {
    case QType::f32: return 32;
    case QType::int8_per_channel:
    case QType::int8_per_tensor: return 8;
    case QType::binary_code: return 0;
  }
  return 0;
}

namespace {

BinaryCodeTensor shaped(int64_t rows, int64_t cols, int bits, int64_t group_size) {
  const std::string where = "binary code tensor [" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
  if (rows <= 0 || cols <= 0) fail(where, "rows and cols must be positive");
  if (bits < 1 || bits > 4) fail(where, "bits must be 1..4, got " + std::to_string(bits));
  if (group_size == 0) group_size = cols;
  if (group_size < 0 || (group_size != cols && group_size % 4 != 0))
    fail(where, "group size must be 0 (per row) or a positive multiple of 4, got " + std::to_string(group_size));
  BinaryCodeTensor t;
  t.rows = rows;
  t.cols = cols;
  t.bits = bits;
  t.group_size = group_size;
  return t;
}

}  // namespace

BinaryCodeTensor BinaryCodeTensor::make(int64_t rows, int64_t cols, int bits, int64_t group_size) {
  BinaryCodeTensor t = shaped(rows, cols, bits, group_size);
  t.planes.assign(t.plane_words(), 0);
  t.alphas.assign(t.alpha_count(), 0.0f);
  return t;
}

BinaryCodeTensor BinaryCodeTensor::view(int64_t rows, int64_t cols, int bits, int64_t group_size,
                                        const uint64_t* planes, const float* alphas) {
  BinaryCodeTensor t = shaped(rows, cols, bits, group_size);
  if (!planes || !alphas) fail("binary code tensor", "view of a null pointer");
  t.ext_planes_ = planes;
  t.ext_alphas_ = alphas;
  return t;
}

BinaryCodeTensor BinaryCodeTensor::view(int64_t rows, int64_t cols, int bits, int64_t group_size,
                                        const uint64_t* planes, std::vector<float> alphas) {
  BinaryCodeTensor t = shaped(rows, cols, bits, group_size);
  if (!planes) fail("binary code tensor", "view of a null pointer");
  if (int64_t(alphas.size()) != t.alpha_count()) fail("binary code tensor", "wrong number of scales");
  t.ext_planes_ = planes;
  t.alphas = std::move(alphas);
  return t;
}

namespace {

// The word holding (row, col) of plane b, and the bit inside it.
inline int64_t word_index(const BinaryCodeTensor& t, int b, int64_t row, int64_t col) {
  return ((row / 16) * t.col_quads() + col / 4) * t.bits + b;
}
inline int bit_index(int64_t row, int64_t col) { return int((row % 16) * 4 + col % 4); }

}  // namespace

std::vector<float> dequantize(const Int8Tensor& q) {
  std::vector<float> w(size_t(q.rows * q.cols));
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) w[r * q.cols + c] = q.scale(r) * float(q.values[r * q.cols + c]);
  return w;
}

int binary_code_sign(const BinaryCodeTensor& t, int b, int64_t row, int64_t col) {
  return (t.planes_data()[word_index(t, b, row, col)] >> bit_index(row, col)) & 1 ? 1 : -1;
}

float binary_code_value(const BinaryCodeTensor& t, int64_t row, int64_t col) {
  const int64_t g = col / t.group_size;
  float v = 0.0f;
  for (int b = 0; b < t.bits; ++b) v += t.alpha(row, b, g) * float(binary_code_sign(t, b, row, col));
  return v;
}

void binary_code_set_sign(BinaryCodeTensor& t, int b, int64_t row, int64_t col, bool positive) {
  if (t.is_view()) fail("binary code tensor", "cannot set signs in a view of external memory");
  uint64_t& w = t.planes[word_index(t, b, row, col)];
  const uint64_t bit = uint64_t(1) << bit_index(row, col);
  w = positive ? (w | bit) : (w & ~bit);
}

int64_t binary_code_bytes(const BinaryCodeTensor& t) {
  return t.plane_words() * int64_t(sizeof(uint64_t)) + t.alpha_count() * 2;  // α stored as halves
}

int64_t binary_code_bytes(int64_t rows, int64_t cols, int bits, int64_t group_size) {
  const int64_t gs = group_size > 0 ? group_size : cols;
  const int64_t plane_words = (rows + 15) / 16 * ((cols + 3) / 4) * bits;
  return plane_words * int64_t(sizeof(uint64_t)) + rows * bits * ((cols + gs - 1) / gs) * 2;
}

Int8Tensor quantize_int8(const Tensor& w, QType type) {
  Int8Tensor q;
  q.type = type;
  q.rows = w.dim(0);
  q.cols = w.numel() / q.rows;
  q.values.resize(w.numel());
  const bool per_channel = type == QType::int8_per_channel;
  auto amax = [&](int64_t r0, int64_t r1) {
    float m = 0.0f;
    for (int64_t i = r0 * q.cols; i < r1 * q.cols; ++i) m = std::max(m, std::abs(w.data[i]));
    return m > 0.0f ? m / 127.0f : 1.0f;
  };
  if (per_channel)
    for (int64_t r = 0; r < q.rows; ++r) q.scales.push_back(amax(r, r + 1));
  else
    q.scales.push_back(amax(0, q.rows));
  for (int64_t r = 0; r < q.rows; ++r) {
    const float inv = 1.0f / q.scale(r);
    for (int64_t c = 0; c < q.cols; ++c) {
      const float v = std::nearbyint(w.data[r * q.cols + c] * inv);
      q.values[r * q.cols + c] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
  return q;
}

}  // namespace qtool
