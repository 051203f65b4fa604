// INT8 linear layers against an FP64 product of the same FP32 inputs: the
// error must stay within what 8-bit weights and activations allow.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "runtime/ops/linear_int8.h"

using namespace qtool;
using namespace qtool::runtime;

namespace {

// A tensor of `shape` with entries drawn from g in row-major order.
std::shared_ptr<Tensor> random_tensor(std::vector<int64_t> shape, std::normal_distribution<float>& g,
                                      std::mt19937& rng) {
  auto t = std::make_shared<Tensor>();
  t->shape = std::move(shape);
  t->data.resize(t->numel());
  for (float& v : t->data) v = g(rng);
  return t;
}

}  // namespace

TEST_CASE("LinearInt8 equals an FP64 reference within the 8-bit error bound") {
  std::mt19937 rng(9);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (auto [M, N, K] : std::vector<std::tuple<int, int, int>>{{1, 1, 1}, {1, 17, 3}, {3, 33, 65}, {5, 100, 129}, {32, 256, 256}}) {
    auto w = random_tensor({N, K}, g, rng);
    auto b = random_tensor({N}, g, rng);
    LinearWeights lw{nullptr, b, std::make_shared<const Int8Tensor>(quantize_int8(*w))};
    LinearInt8 lin({lw});
    std::vector<float> x(M * K), y(M * N);
    for (float& v : x) v = g(rng);
    lin.forward(x.data(), M, y.data());
    for (int m = 0; m < M; ++m) {
      double xmax = 0;
      for (int k = 0; k < K; ++k) xmax = std::max(xmax, double(std::fabs(x[m * K + k])));
      for (int n = 0; n < N; ++n) {
        double ref = b->data[n], wmax = 0, bound = 0;
        for (int k = 0; k < K; ++k) {
          ref += double(x[m * K + k]) * w->data[n * K + k];
          wmax = std::max(wmax, double(std::fabs(w->data[n * K + k])));
        }
        // Each product errs by at most |x|·Δw/2 + |w|·Δx/2 + Δx·Δw/4 with Δ = max/127.
        for (int k = 0; k < K; ++k)
          bound += std::fabs(x[m * K + k]) * wmax / 254 + std::fabs(w->data[n * K + k]) * xmax / 254 +
                   xmax * wmax / (4 * 127.0 * 127.0);
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(K);
        CHECK(std::fabs(y[m * N + n] - ref) <= bound * 1.0001 + 1e-5);
      }
    }
  }
}

// A static input with a zero point (GELU-like: a small negative floor, a long
// tail) gives exactly Σ_k s·(q_x − z)·s_w·q_w + b, where q_x = clamp(round(x/s) + z):
// the zero point's correction −z·Σ_k q_w is folded into the epilogue, on every kernel.
TEST_CASE("LinearInt8 with an asymmetric static input equals the dequantized product") {
  std::mt19937 rng(10);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (auto [M, N, K] : std::vector<std::tuple<int, int, int>>{{1, 1, 1}, {1, 17, 3}, {3, 33, 65}, {7, 100, 129}, {32, 64, 256}}) {
    for (int32_t z : {0, 1, 21, 128, 250}) {
      CAPTURE(M);
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(z);
      auto w = random_tensor({N, K}, g, rng);
      auto b = random_tensor({N}, g, rng);
      LinearWeights lw{nullptr, b, std::make_shared<const Int8Tensor>(quantize_int8(*w))};
      lw.input = {3.0f, true, z};  // range [−z·s, 3], s = 3 / (255 − z)
      const float s = lw.input.scale();
      LinearInt8 lin({lw});
      std::vector<float> x(M * K), y(M * N);
      for (float& v : x) {
        const float u = 1.5f * g(rng);
        v = 0.5f * u * (1.0f + std::erf(u * 0.70710678f)) * 1.2f;  // GELU, some values past T = 3 (clipped)
      }
      lin.forward(x.data(), M, y.data());
      const Int8Tensor& q = *lw.int8;
      for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
          double ref = b->data[n], mag = std::fabs(b->data[n]);
          for (int k = 0; k < K; ++k) {
            const double qx = std::clamp(std::nearbyint(double(x[m * K + k]) / s) + z, 0.0, 255.0);
            const double term = s * (qx - z) * q.scale(n) * q.values[n * K + k];
            ref += term, mag += std::fabs(term);
          }
          CHECK(std::fabs(y[m * N + n] - ref) <= 1e-5 * mag + 1e-6);
        }
    }
  }
}

// Greedy decoding's argmax without the logits (forward_argmax): the first
// index of the largest of forward()'s outputs, the masked ids left out, over
// many spans (58k-column-like rows cut small), with ties across spans, on 1–3
// threads.
TEST_CASE("LinearInt8::forward_argmax is the first argmax of forward's outputs") {
  std::mt19937 rng(12);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (auto [M, N, K] : std::vector<std::tuple<int, int, int>>{{1, 3001, 37}, {3, 5003, 64}, {33, 2500, 19}}) {
    auto w = random_tensor({N, K}, g, rng);
    auto b = random_tensor({N}, g, rng);
    // Columns 5 and N − 7 are the same channel with a bias that wins: a tie
    // between the first span and the last.
    for (int k = 0; k < K; ++k) w->data[(N - 7) * K + k] = w->data[5 * K + k];
    b->data[5] = b->data[N - 7] = 1000.0f;
    LinearWeights lw{nullptr, b, std::make_shared<const Int8Tensor>(quantize_int8(*w))};
    LinearInt8 lin({lw});
    std::vector<float> x(M * K), y(M * N);
    for (float& v : x) v = g(rng);
    lin.forward(x.data(), M, y.data());
    for (const std::vector<int>& masked : std::vector<std::vector<int>>{{}, {N - 1}, {5}, {5, N - 7, 0}}) {
      std::vector<int> want(M);
      for (int m = 0; m < M; ++m) {
        std::vector<float> row(y.begin() + m * N, y.begin() + (m + 1) * N);
        for (int id : masked) row[id] = -INFINITY;
        want[m] = int(std::max_element(row.begin(), row.end()) - row.begin());
      }
      if (masked.empty()) CHECK(want[0] == 5);
      if (masked == std::vector<int>{5}) CHECK(want[0] == N - 7);
      for (int threads : {1, 2, 3}) {
        const ThreadLimit limit(threads);
        std::vector<int> got(M, -1);
        lin.forward_argmax(x.data(), M, masked, got.data());
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(threads);
        CHECK(got == want);
      }
    }
  }
}
