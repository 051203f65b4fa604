#include "quantize/bias_correction.h"

namespace qtool::quantize {

std::vector<float> centred_hessian(const float* hessian, const std::vector<float>& mean) {
  const size_t n = mean.size();
  std::vector<float> c(hessian, hessian + n * n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) c[i * n + j] = float(double(c[i * n + j]) - double(mean[i]) * mean[j]);
  return c;
}

std::vector<float> corrected_bias(const float* w, const BinaryCodeTensor& q, const float* bias,
                                  const std::vector<float>& mean) {
  std::vector<float> b(q.rows);
  for (int64_t r = 0; r < q.rows; ++r) {
    double shift = 0;
    for (int64_t col = 0; col < q.cols; ++col)
      shift += (double(w[r * q.cols + col]) - binary_code_value(q, r, col)) * mean[col];
    b[r] = float((bias ? double(bias[r]) : 0.0) + shift);
  }
  return b;
}

std::vector<float> corrected_logits_bias(const float* table, const ClusteredBinaryEmbedding& code, const float* bias,
                                         const std::vector<float>& mean) {
  std::vector<float> b(static_cast<size_t>(code.rows)), row(static_cast<size_t>(code.cols));
  for (int64_t v = 0; v < code.rows; ++v) {
    code.decode_row(v, row.data());
    double shift = 0;
    for (int64_t col = 0; col < code.cols; ++col) shift += (double(table[v * code.cols + col]) - row[col]) * mean[col];
    b[v] = float((bias ? double(bias[v]) : 0.0) + shift);
  }
  return b;
}

}  // namespace qtool::quantize
