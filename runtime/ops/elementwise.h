// Row-wise FP32 operations around the matrix products.
#pragma once
#include <cstdint>
#include <optional>

#include "model/config.h"
#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {

// The kernels' code for a model activation (none when absent).
VecAct vec_act(std::optional<Activation> act);
// y[r, :] += bias, then the activation, in place.
void add_bias_activation(float* y, int64_t rows, int64_t cols, const float* bias,
                         std::optional<Activation> act);
// x[r, :] = LayerNorm(x[r, :] + residual[r, :]) with eps 1e-5; residual may be null.
void add_layer_norm(float* x, const float* residual, int64_t rows, int64_t cols, const float* gamma,
                    const float* beta, float* out = nullptr);
// In-place softmax over n values.
void softmax(float* x, int64_t n);
// In-place log-softmax over n values.
void log_softmax(float* x, int64_t n);
// Sinusoidal position embedding row for `position` (sin first half, cos second half).
void sinusoidal_position(int64_t position, int64_t dim, float* out);

}  // namespace qtool::runtime
