// Runtime ops against plain double-precision references and hand-computed values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <tuple>

#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/linear.h"
#include "runtime/parallel.h"

using namespace qtool;
using namespace qtool::runtime;

TEST_CASE("sinusoidal positions: sin first half, cos second half") {
  std::vector<float> row(6);
  sinusoidal_position(0, 6, row.data());
  CHECK(row == std::vector<float>{0, 0, 0, 1, 1, 1});
  sinusoidal_position(3, 6, row.data());
  // angle_i = 3 / 10000^(2i/6) for i = 0, 1, 2
  for (int i = 0; i < 3; ++i) {
    const double a = 3.0 / std::pow(10000.0, 2.0 * i / 6.0);
    CHECK(row[i] == doctest::Approx(std::sin(a)).epsilon(1e-6));
    CHECK(row[3 + i] == doctest::Approx(std::cos(a)).epsilon(1e-6));
  }
}

TEST_CASE("layer norm and activations on hand-computed values") {
  std::vector<float> x = {1, 2, 3, 4}, g = {1, 1, 2, 1}, b = {0, 0, 0, 1};
  add_layer_norm(x.data(), nullptr, 1, 4, g.data(), b.data());
  // mean 2.5, var 1.25 → (x - 2.5) / sqrt(1.25 + 1e-5)
  const double s = std::sqrt(1.25 + 1e-5);
  CHECK(x[0] == doctest::Approx(-1.5 / s));
  CHECK(x[2] == doctest::Approx(2 * 0.5 / s));
  CHECK(x[3] == doctest::Approx(1.5 / s + 1));

  std::vector<float> y = {-1, 0, 2}, zero = {0, 0, 0};
  add_bias_activation(y.data(), 1, 3, zero.data(), Activation::silu);
  CHECK(y[0] == doctest::Approx(-1 / (1 + std::exp(1.0))));
  CHECK(y[2] == doctest::Approx(2 / (1 + std::exp(-2.0))));
  y = {-1, 0, 2};
  add_bias_activation(y.data(), 1, 3, zero.data(), Activation::gelu);
  CHECK(y[0] == doctest::Approx(-0.5 * (1 + std::erf(-1 / std::sqrt(2.0)))));
  y = {-1, 0.5, 2};
  add_bias_activation(y.data(), 1, 3, zero.data(), Activation::relu);
  CHECK(y == std::vector<float>{0, 0.5, 2});

  std::vector<float> p = {1, 2, 3};
  log_softmax(p.data(), 3);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  CHECK(p[0] == doctest::Approx(1 - lse));
  CHECK(p[2] == doctest::Approx(3 - lse));
}

TEST_CASE("LinearF32: one row (split over inputs) and many rows (over outputs) equal a double reference, same bits "
          "at 1 and 2 threads") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  // Shapes either side of the 2^16 multiply-add chunk, odd ones, and a vocabulary-wide one.
  for (auto [out, in] : std::vector<std::pair<int, int>>{{1, 1}, {17, 5}, {256, 256}, {768, 256}, {256, 1024},
                                                         {1000, 333}, {8000, 64}}) {
    std::vector<float> wv(static_cast<size_t>(out) * in), bv(static_cast<size_t>(out));
    for (float& v : wv) v = u(rng);
    for (float& v : bv) v = u(rng);
    LinearWeights w;
    w.weight = std::make_shared<Tensor>(Tensor{{out, in}, wv});
    w.bias = std::make_shared<Tensor>(Tensor{{out}, bv});
    LinearF32 lin({w});
    lin.activation = Activation::relu;
    for (int rows : {1, 3}) {
      CAPTURE(out);
      CAPTURE(in);
      CAPTURE(rows);
      std::vector<float> x(static_cast<size_t>(rows) * in), y1(static_cast<size_t>(rows) * out), y2(y1.size());
      for (float& v : x) v = u(rng);
      {
        ThreadLimit one(1);
        lin.forward(x.data(), rows, y1.data());
      }
      {
        ThreadLimit two(2);
        lin.forward(x.data(), rows, y2.data());
      }
      CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0);
      for (int r = 0; r < rows; ++r)
        for (int o = 0; o < out; ++o) {
          double ref = w.bias->data[o];
          for (int k = 0; k < in; ++k) ref += double(x[r * in + k]) * w.weight->data[size_t(o) * in + k];
          ref = std::max(ref, 0.0);
          REQUIRE(y1[r * out + o] == doctest::Approx(ref).epsilon(1e-4).scale(1.0));
        }
    }
  }
}

// The default forward_argmax (FP32 and binary-code kinds): forward, the masked
// ids to −inf, the first maximum; relu makes ties at 0.
TEST_CASE("Linear::forward_argmax: the first argmax of forward's outputs, masked ids left out") {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-1, 1);
  const int out = 1001, in = 24, rows = 3;
  std::vector<float> wv(static_cast<size_t>(out) * in), bv(out);
  for (float& v : wv) v = u(rng);
  for (float& v : bv) v = u(rng) - 3.0f;  // most outputs clip to 0 under relu
  LinearWeights w;
  w.weight = std::make_shared<Tensor>(Tensor{{out, in}, wv});
  w.bias = std::make_shared<Tensor>(Tensor{{out}, bv});
  LinearF32 lin({w});
  lin.activation = Activation::relu;
  std::vector<float> x(rows * in), y(rows * out);
  for (float& v : x) v = u(rng) * 0.1f;
  lin.forward(x.data(), rows, y.data());
  for (const std::vector<int>& masked : std::vector<std::vector<int>>{{}, {0}, {0, 1, 2, 500}}) {
    std::vector<int> want(rows), got(rows, -1);
    for (int r = 0; r < rows; ++r) {
      std::vector<float> row(y.begin() + r * out, y.begin() + (r + 1) * out);
      for (int id : masked) row[id] = -INFINITY;
      want[r] = int(std::max_element(row.begin(), row.end()) - row.begin());
    }
    if (masked.empty()) CHECK(want[0] == 0);  // all zeros: the first
    lin.forward_argmax(x.data(), rows, masked, got.data());
    CHECK(got == want);
  }
}

TEST_CASE("attention equals a double reference, with and without causal masking") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-2, 2);
  for (auto [nq, nk, hd, causal] : std::vector<std::tuple<int, int, int, bool>>{
           {1, 1, 1, false}, {3, 7, 5, false}, {5, 5, 8, true}, {2, 9, 3, true}}) {
    const int stride = hd + 3;  // heads live inside wider rows
    std::vector<float> q(nq * stride), k(nk * stride), v(nk * stride), ctx(nq * hd), scratch(nk);
    for (float* a : {q.data(), k.data(), v.data()})
      for (int i = 0; i < (a == q.data() ? nq : nk) * stride; ++i) a[i] = u(rng);
    attend_head({q.data(), stride}, {k.data(), stride}, {v.data(), stride}, nq, nk, hd, causal,
                ctx.data(), hd, scratch.data());
    for (int i = 0; i < nq; ++i) {
      const int visible = causal ? i + (nk - nq) + 1 : nk;
      std::vector<double> s(visible);
      double mx = -1e30, sum = 0;
      for (int j = 0; j < visible; ++j) {
        for (int c = 0; c < hd; ++c) s[j] += double(q[i * stride + c]) * k[j * stride + c];
        mx = std::max(mx, s[j]);
      }
      for (double& x : s) sum += (x = std::exp(x - mx));
      for (int c = 0; c < hd; ++c) {
        double ref = 0;
        for (int j = 0; j < visible; ++j) ref += s[j] / sum * v[j * stride + c];
        CHECK(ctx[i * hd + c] == doctest::Approx(ref).epsilon(1e-5));
      }
    }
  }
}
