// GPTQ for binary codes: the sweep by hand on two correlated columns, H = I
// (no error to push, so plain nearest rounding), and on random weights with
// correlated inputs a lower output error tr(D H Dᵀ) than the alternating code.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quantize/binary_code.h"
#include "quantize/gptq.h"
#include "tests/quantize/random_matrix.h"
#include "util/error.h"

using namespace qtool;
using namespace qtool::quantize;

using test::random_matrix;

namespace {

// H = XᵀX / m for inputs x = z·M (z Gaussian, M random): strongly correlated columns.
std::vector<float> correlated_hessian(int64_t n, unsigned seed) {
  const int64_t m = 4 * n;
  const std::vector<float> z = random_matrix(m, n, seed), mix = random_matrix(n, n, seed + 1);
  std::vector<double> x(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j) x[i * n + j] += z[i * n + k] * mix[k * n + j];
  std::vector<float> h(n * n);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      double s = 0.0;
      for (int64_t i = 0; i < m; ++i) s += x[i * n + a] * x[i * n + b];
      h[a * n + b] = float(s / double(m));
    }
  return h;
}

// tr(W H Wᵀ), to turn hessian_error into the relative output error.
double output_norm(const std::vector<float>& w, const std::vector<float>& h, int64_t rows, int64_t n) {
  double s = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < n; ++b) s += double(w[r * n + a]) * h[a * n + b] * w[r * n + b];
  return s;
}

}  // namespace

TEST_CASE("gptq: the sweep by hand, one row, two correlated columns") {
  // α = 1 (codebook {−1, +1}), w = (0.4, 0.3), H = [[1, .9], [.9, 1]], no damping.
  // Column 0 rounds to +1 (error −0.6); the update w₁ += ρ(w₀ − q₀) = 0.3 − 0.54
  // = −0.24 then rounds to −1. Plain rounding gives (+1, +1):
  //   D = (−0.6, −0.7): DHDᵀ = 0.36 + 0.49 + 2·0.9·0.42  = 1.606
  //   D = (−0.6, +1.3): DHDᵀ = 0.36 + 1.69 − 2·0.9·0.78  = 0.646
  const std::vector<float> w = {0.4f, 0.3f}, h = {1.0f, 0.9f, 0.9f, 1.0f};
  BinaryCodeTensor t = BinaryCodeTensor::make(1, 2, 1, 0);
  t.alphas[0] = 1.0f;
  binary_code_set_sign(t, 0, 0, 0, true);
  binary_code_set_sign(t, 0, 0, 1, true);
  CHECK(hessian_error(w.data(), t, h.data()) == doctest::Approx(1.606));
  GptqOptions g;
  g.damp = 0.0;
  const std::vector<uint8_t> codes = gptq_sweep(w.data(), t, h.data(), g);
  CHECK(codes == std::vector<uint8_t>{1, 0});
  BinaryCodeTensor swept = BinaryCodeTensor::make(1, 2, 1, 0);
  swept.alphas[0] = 1.0f;
  binary_code_set_sign(swept, 0, 0, 0, true);
  CHECK(hessian_error(w.data(), swept, h.data()) == doctest::Approx(0.646));
  // Uncorrelated inputs: nothing to push, both round up.
  const std::vector<float> eye = {1.0f, 0.0f, 0.0f, 1.0f};
  CHECK(gptq_sweep(w.data(), t, eye.data(), g) == std::vector<uint8_t>{1, 1});
}

TEST_CASE("gptq: with H = I the sweep is nearest rounding and the result no worse than alternating") {
  const int64_t rows = 20, n = 32;
  const std::vector<float> w = random_matrix(rows, n, 7);
  std::vector<float> eye(n * n, 0.0f);
  for (int64_t i = 0; i < n; ++i) eye[i * n + i] = 1.0f;
  for (int bits : {1, 2, 3}) {
    CAPTURE(bits);
    BinaryCodeOptions opt;
    opt.bits = bits;
    const BinaryCodeResult plain = quantize_binary_code(w.data(), rows, n, opt);
    // The alternating code's signs are nearest to its α, so a sweep with H = I keeps them.
    const std::vector<uint8_t> codes = gptq_sweep(w.data(), plain.tensor, eye.data(), GptqOptions{});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < n; ++c)
        for (int b = 0; b < bits; ++b)
          REQUIRE(((codes[r * n + c] >> b & 1) ? 1 : -1) == binary_code_sign(plain.tensor, b, r, c));
    const GptqResult g = quantize_binary_code_gptq(w.data(), rows, n, opt, eye.data(), GptqOptions{});
    const double plain_err = hessian_error(w.data(), plain.tensor, eye.data());
    CHECK(hessian_error(w.data(), g.code.tensor, eye.data()) <= plain_err * (1 + 1e-9));
    CHECK(g.output_error == doctest::Approx(plain.relative_error).epsilon(1e-3));
  }
}

TEST_CASE("gptq: correlated inputs, lower output error than the alternating code") {
  const int64_t rows = 48, n = 64;
  const std::vector<float> w = random_matrix(rows, n, 11), h = correlated_hessian(n, 3);
  const double norm = output_norm(w, h, rows, n);
  for (int bits : {1, 2, 3}) {
    for (int64_t group_size : {int64_t(0), int64_t(16)}) {
      for (bool act_order : {false, true}) {
        CAPTURE(bits);
        CAPTURE(group_size);
        CAPTURE(act_order);
        BinaryCodeOptions opt;
        opt.bits = bits;
        opt.group_size = group_size;
        const BinaryCodeResult plain = quantize_binary_code(w.data(), rows, n, opt);
        GptqOptions go;
        go.act_order = act_order;
        const GptqResult g = quantize_binary_code_gptq(w.data(), rows, n, opt, h.data(), go);
        const double plain_err = hessian_error(w.data(), plain.tensor, h.data());
        const double gptq_err = hessian_error(w.data(), g.code.tensor, h.data());
        // Recomputed independently of the reported figure, and well below the plain code.
        CHECK(std::sqrt(gptq_err / norm) == doctest::Approx(g.output_error).epsilon(1e-4));
        CHECK(g.output_error < 0.9 * g.start_output_error);  // the sweep, not the diag-H start, does the work
        CHECK(gptq_err < 0.8 * plain_err);
        CHECK(g.code.tensor.bits == bits);
        CHECK(g.code.tensor.groups() == (group_size ? n / group_size : 1));
      }
    }
  }
}

TEST_CASE("gptq: bad arguments") {
  const std::vector<float> w = {1, 2, 3, 4}, h = {1, 0, 0, -1};
  BinaryCodeOptions opt;
  opt.bits = 1;
  CHECK_THROWS_AS(quantize_binary_code_gptq(w.data(), 2, 2, opt, h.data(), GptqOptions{}), Error);
  const std::vector<float> nan_h = {1, NAN, NAN, 1};
  CHECK_THROWS_AS(quantize_binary_code_gptq(w.data(), 2, 2, opt, nan_h.data(), GptqOptions{}), Error);
  GptqOptions bad;
  bad.rounds = 0;
  const std::vector<float> eye = {1, 0, 0, 1};
  CHECK_THROWS_AS(quantize_binary_code_gptq(w.data(), 2, 2, opt, eye.data(), bad), Error);
}

namespace {

// Σ_t ‖W x_t − V x̂_t‖² over rows of x, x̂ [m, n] (W, V [rows, n]).
double paired_error(const std::vector<float>& w, const std::vector<float>& x, const std::vector<float>& v,
                    const std::vector<float>& xq, int64_t rows, int64_t m, int64_t n) {
  double e = 0.0;
  for (int64_t t = 0; t < m; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double a = 0.0, b = 0.0;
      for (int64_t j = 0; j < n; ++j) a += double(w[r * n + j]) * x[t * n + j], b += double(v[r * n + j]) * xq[t * n + j];
      e += (a - b) * (a - b);
    }
  return e;
}

std::vector<float> decoded(const BinaryCodeTensor& t) {
  std::vector<float> v(t.rows * t.cols);
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c = 0; c < t.cols; ++c) v[r * t.cols + c] = binary_code_value(t, r, c);
  return v;
}

}  // namespace

TEST_CASE("gptq: error compensation reproduces W x from a perturbed input x̂, before and after quantizing") {
  // x: correlated inputs (some columns dead); x̂ = x with a layer's worth of error:
  // a fixed linear distortion plus noise, as when the layers before are quantized.
  const int64_t rows = 24, n = 40, m = 400;
  const std::vector<float> z = random_matrix(m, n, 11), mix = random_matrix(n, n, 12), w = random_matrix(rows, n, 13),
                           distort = random_matrix(n, n, 14), noise = random_matrix(m, n, 15);
  std::vector<float> x(m * n, 0.0f), xq(m * n, 0.0f);
  for (int64_t t = 0; t < m; ++t)
    for (int64_t j = 0; j < n; ++j) {
      if (j % 13 == 5) continue;  // a dead column: H_jj = 0
      double s = 0.0;
      for (int64_t k = 0; k < n; ++k) s += z[t * n + k] * mix[k * n + j];
      x[t * n + j] = float(s / std::sqrt(double(n)));
    }
  for (int64_t t = 0; t < m; ++t)
    for (int64_t j = 0; j < n; ++j) {
      if (j % 13 == 5) continue;
      double s = x[t * n + j];
      for (int64_t k = 0; k < n; ++k) s += 0.1 * x[t * n + k] * distort[k * n + j] / std::sqrt(double(n));
      xq[t * n + j] = float(s + 0.05 * noise[t * n + j]);
    }
  std::vector<float> h(n * n, 0.0f), c(n * n, 0.0f);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      double sh = 0.0, sc = 0.0;
      for (int64_t t = 0; t < m; ++t) sh += double(xq[t * n + a]) * xq[t * n + b], sc += double(x[t * n + a]) * xq[t * n + b];
      h[a * n + b] = float(sh / m), c[a * n + b] = float(sc / m);
    }
  const std::vector<float> wc = compensated_weights(w.data(), rows, n, h.data(), c.data(), 1e-6);
  for (int64_t r = 0; r < rows; ++r) CHECK(wc[r * n + 5] == w[r * n + 5]);  // the dead column is kept
  // Unquantized, W̃ is the least-squares answer: far below using W on x̂.
  const double e_w = paired_error(w, x, w, xq, rows, m, n), e_wc = paired_error(w, x, wc, xq, rows, m, n);
  CAPTURE(e_w);
  CAPTURE(e_wc);
  CHECK(e_wc < 0.5 * e_w);
  // Quantized to 2 and 3 bits by GPTQ under H: the compensated target's code is closer to W x.
  for (int bits : {2, 3}) {
    CAPTURE(bits);
    BinaryCodeOptions opt;
    opt.bits = bits;
    GptqOptions g;
    g.act_order = true;
    const GptqResult plain = quantize_binary_code_gptq(w.data(), rows, n, opt, h.data(), g);
    const GptqResult comp = quantize_binary_code_gptq(wc.data(), rows, n, opt, h.data(), g);
    const double e_plain = paired_error(w, x, decoded(plain.code.tensor), xq, rows, m, n);
    const double e_comp = paired_error(w, x, decoded(comp.code.tensor), xq, rows, m, n);
    CAPTURE(e_plain);
    CAPTURE(e_comp);
    CHECK(e_comp < 0.9 * e_plain);
  }
  // x̂ = x: C = H, and W̃ = W up to the damping.
  const std::vector<float> same = compensated_weights(w.data(), rows, n, h.data(), h.data(), 0.0);
  for (size_t i = 0; i < w.size(); ++i) CHECK(same[i] == doctest::Approx(w[i]).epsilon(1e-3));
}
