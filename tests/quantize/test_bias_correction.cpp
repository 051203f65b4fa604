// Bias correction: on a layer whose inputs have a mean (swish outputs, as an
// FFN's second product sees), moving the error's mean into the bias lowers the
// output error of the same code, and GPTQ on the centred H with the correction
// beats GPTQ on H, with or without correcting after it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "quantize/bias_correction.h"
#include "quantize/binary_code.h"
#include "quantize/gptq.h"
#include "quantize/model_quantizer.h"
#include "tests/quantize/random_matrix.h"

using namespace qtool;
using namespace qtool::quantize;

namespace {

struct Inputs {
  int64_t m, n;
  std::vector<float> x, h, mean;  // x [m][n], H = XᵀX/m, E[x]
};

// x = swish(z·M + 0.5): correlated columns with a positive mean.
Inputs swish_inputs(int64_t m, int64_t n, unsigned seed) {
  const std::vector<float> z = test::random_matrix(m, n, seed), mix = test::random_matrix(n, n, seed + 1);
  Inputs in{m, n, std::vector<float>(m * n), std::vector<float>(n * n), std::vector<float>(n)};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double a = 0.5;
      for (int64_t k = 0; k < n; ++k) a += z[i * n + k] * mix[k * n + j] / std::sqrt(double(n));
      in.x[i * n + j] = float(a / (1.0 + std::exp(-a)));
    }
  for (int64_t a = 0; a < n; ++a) {
    double s = 0;
    for (int64_t i = 0; i < m; ++i) s += in.x[i * n + a];
    in.mean[a] = float(s / double(m));
    for (int64_t b = 0; b < n; ++b) {
      double t = 0;
      for (int64_t i = 0; i < m; ++i) t += double(in.x[i * n + a]) * in.x[i * n + b];
      in.h[a * n + b] = float(t / double(m));
    }
  }
  return in;
}

// Mean over the inputs of ‖(W x + b) − (Ŵ x + b')‖²: the layer's output error.
double output_error(const std::vector<float>& w, const BinaryCodeTensor& q, const std::vector<float>& bias_shift,
                    const Inputs& in) {
  double e = 0;
  for (int64_t i = 0; i < in.m; ++i)
    for (int64_t r = 0; r < q.rows; ++r) {
      double d = -double(bias_shift[r]);
      for (int64_t c = 0; c < q.cols; ++c)
        d += (double(w[r * q.cols + c]) - binary_code_value(q, r, c)) * in.x[i * in.n + c];
      e += d * d;
    }
  return e / double(in.m);
}

}  // namespace

TEST_CASE("bias correction lowers a binary-coded layer's output error; with GPTQ on the centred H, more") {
  const int64_t rows = 48, cols = 96;
  const Inputs in = swish_inputs(600, cols, 7);
  const std::vector<float> w = test::random_matrix(rows, cols, 11);
  const std::vector<float> zero(rows, 0.0f);
  BinaryCodeOptions opt;
  opt.bits = 2;
  const BinaryCodeTensor plain = quantize_binary_code(w.data(), rows, cols, opt).tensor;
  const std::vector<float> shift = corrected_bias(w.data(), plain, nullptr, in.mean);  // (W − Ŵ)μ
  const double e_plain = output_error(w, plain, zero, in), e_corrected = output_error(w, plain, shift, in);
  CAPTURE(e_plain);
  CAPTURE(e_corrected);
  CHECK(e_corrected < 0.95 * e_plain);
  // A given bias is carried over: b + (W − Ŵ)μ.
  const std::vector<float> bias(rows, 0.25f);
  const std::vector<float> moved = corrected_bias(w.data(), plain, bias.data(), in.mean);
  for (int64_t r = 0; r < rows; ++r) CHECK(moved[r] == doctest::Approx(shift[r] + 0.25f).epsilon(1e-6));

  const GptqOptions g;
  const BinaryCodeTensor on_h = quantize_binary_code_gptq(w.data(), rows, cols, opt, in.h.data(), g).code.tensor;
  const std::vector<float> hc = centred_hessian(in.h.data(), in.mean);
  const BinaryCodeTensor on_hc = quantize_binary_code_gptq(w.data(), rows, cols, opt, hc.data(), g).code.tensor;
  const double e_gptq = output_error(w, on_h, zero, in);
  const double e_gptq_corrected = output_error(w, on_h, corrected_bias(w.data(), on_h, nullptr, in.mean), in);
  const double e_centred = output_error(w, on_hc, corrected_bias(w.data(), on_hc, nullptr, in.mean), in);
  CAPTURE(e_gptq);
  CAPTURE(e_gptq_corrected);
  CAPTURE(e_centred);
  CHECK(e_gptq < e_plain);
  CHECK(e_centred < e_gptq);
  CHECK(e_centred <= e_gptq_corrected);
}

TEST_CASE("centred hessian: H − μμᵀ by hand") {
  const std::vector<float> h = {4, 1, 1, 9}, mu = {1, 2};
  const std::vector<float> c = centred_hessian(h.data(), mu);
  CHECK(c == std::vector<float>{3, -1, -1, 5});
}

TEST_CASE("bias correction of a tied output projection: the logits' mean error goes to final_logits_bias") {
  // A 2-bit clustered code of a [vocab, d] table, two frequency clusters; the
  // decoder's final states have a mean, so Ê's error shifts each logit.
  const int64_t vocab = 40, d = 64;
  const Inputs in = swish_inputs(500, d, 3);
  const std::vector<float> e = test::random_matrix(vocab, d, 5);
  const Tensor table{{vocab, d}, e};
  std::vector<int64_t> counts(vocab);
  for (int64_t v = 0; v < vocab; ++v) counts[v] = (v * 7) % vocab + 1;
  BinaryCodeOptions opt;
  opt.bits = 3;
  double rel = 0;
  const ClusteredBinaryEmbedding code = cluster_embedding(table, counts, 2, 1.0, opt, &rel);
  const std::vector<float> bias(vocab, 0.5f);
  const std::vector<float> corrected = corrected_logits_bias(e.data(), code, bias.data(), in.mean);
  // Mean over the inputs of ‖(E x + b) − (Ê x + b')‖², and of the error's mean per row.
  auto errors = [&](const std::vector<float>& b_hat) {
    std::vector<double> mean_err(vocab, 0.0);
    std::vector<float> decoded(d);
    double sq = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      code.decode_row(v, decoded.data());
      for (int64_t i = 0; i < in.m; ++i) {
        double z = bias[v] - double(b_hat[v]);
        for (int64_t c = 0; c < d; ++c) z += (double(e[v * d + c]) - decoded[c]) * in.x[i * d + c];
        sq += z * z, mean_err[v] += z / double(in.m);
      }
    }
    double worst = 0;
    for (double m : mean_err) worst = std::max(worst, std::abs(m));
    return std::make_pair(sq / double(in.m), worst);
  };
  const auto [sq_plain, worst_plain] = errors(bias);
  const auto [sq_corrected, worst_corrected] = errors(corrected);
  CAPTURE(sq_plain);
  CAPTURE(sq_corrected);
  CAPTURE(worst_plain);
  CAPTURE(worst_corrected);
  CHECK(sq_corrected < 0.95 * sq_plain);
  CHECK(worst_corrected < 1e-4 * std::max(1.0, worst_plain));
  CHECK(worst_plain > 1e-2);
}
