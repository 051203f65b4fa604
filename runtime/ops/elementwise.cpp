#include "runtime/ops/elementwise.h"

#include <cmath>

#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {

VecAct vec_act(std::optional<Activation> act) {
  return act ? static_cast<VecAct>(static_cast<int>(*act)) : VecAct::none;
}

void add_bias_activation(float* y, int64_t rows, int64_t cols, const float* bias,
                         std::optional<Activation> act) {
  const VecAct code = vec_act(act);
  const auto kernel = vec_ops().add_bias_act;
  for (int64_t r = 0; r < rows; ++r) kernel(y + r * cols, bias, cols, code);
}

void add_layer_norm(float* x, const float* residual, int64_t rows, int64_t cols, const float* gamma,
                    const float* beta, float* out) {
  const auto kernel = vec_ops().add_layer_norm;
  for (int64_t r = 0; r < rows; ++r)
    kernel(x + r * cols, residual ? residual + r * cols : nullptr, cols, gamma, beta,
           (out ? out : x) + r * cols);
}

void softmax(float* x, int64_t n) { vec_ops().softmax(x, n); }
void log_softmax(float* x, int64_t n) { vec_ops().log_softmax(x, n); }

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
