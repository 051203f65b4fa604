#include "runtime/ops/elementwise.h"

#include <algorithm>
#include <cmath>

namespace qtool::runtime {

namespace {
inline float activate(float x, Activation a) {
  switch (a) {
    case Activation::relu: return x > 0.0f ? x : 0.0f;
    case Activation::silu: return x / (1.0f + std::exp(-x));
    case Activation::gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case Activation::gelu_tanh: {
      const float k = 0.79788456080286536f;  // sqrt(2/pi)
      return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
    }
  }
  return x;
}
}  // namespace

void add_bias_activation(float* y, int64_t rows, int64_t cols, const float* bias,
                         std::optional<Activation> act) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    for (int64_t c = 0; c < cols; ++c) row[c] += bias[c];
    if (act)
      for (int64_t c = 0; c < cols; ++c) row[c] = activate(row[c], *act);
  }
}

void add_layer_norm(float* x, const float* residual, int64_t rows, int64_t cols, const float* gamma,
                    const float* beta, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    if (residual)
      for (int64_t c = 0; c < cols; ++c) row[c] += residual[r * cols + c];
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) sum += row[c];
    const float mean = static_cast<float>(sum / cols);
    double var = 0.0;
    for (int64_t c = 0; c < cols; ++c) var += double(row[c] - mean) * (row[c] - mean);
    const float inv = 1.0f / std::sqrt(static_cast<float>(var / cols) + 1e-5f);
    float* dst = out ? out + r * cols : row;
    for (int64_t c = 0; c < cols; ++c) dst[c] = (row[c] - mean) * inv * gamma[c] + beta[c];
  }
}

void softmax(float* x, int64_t n) {
  const float mx = *std::max_element(x, x + n);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] - mx));
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void log_softmax(float* x, int64_t n) {
  const float mx = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
  const float lse = mx + static_cast<float>(std::log(sum));
  for (int64_t i = 0; i < n; ++i) x[i] -= lse;
}

void sinusoidal_position(int64_t position, int64_t dim, float* out) {
  // Column j of the table holds angle pos / 10000^(2·⌊j/2⌋/dim); even columns go
  // to the first half as sin, odd columns to the second half as cos.
  const int64_t half = (dim + 1) / 2;
  for (int64_t j = 0; j < dim; ++j) {
    const double angle = double(position) / std::pow(10000.0, 2.0 * double(j / 2) / double(dim));
    if (j % 2 == 0) out[j / 2] = static_cast<float>(std::sin(angle));
    else out[half + j / 2] = static_cast<float>(std::cos(angle));
  }
}

}  // namespace qtool::runtime
