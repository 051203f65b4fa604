// Block and output reconstruction (quantize/block_reconstruction.h, output_reconstruction.h): the forward pass is the
// runtime's sub-layer, and the fit lowers the sub-layer's output error, on rows
// it did not see too, with the signs untouched.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "quantize/binary_code.h"
#include "quantize/block_reconstruction.h"
#include "quantize/model_quantizer.h"
#include "quantize/output_reconstruction.h"
#include "tests/quantize/random_matrix.h"

using namespace qtool;
using namespace qtool::quantize;

namespace {

TensorPtr tensor(std::vector<int64_t> shape, std::vector<float> v) {
  return std::make_shared<Tensor>(Tensor{std::move(shape), std::move(v)});
}

// An FP32 sub-layer with transformer-like scales: W ~ N(0, 1/fan_in), small biases, γ near 1.
FfnBlock random_block(int64_t d, int64_t f, Activation act, bool pre_norm, unsigned seed) {
  auto scaled = [](std::vector<float> v, float s) {
    for (float& x : v) x *= s;
    return v;
  };
  std::vector<float> gamma = scaled(test::random_matrix(1, d, seed + 4), 0.1f);
  for (float& g : gamma) g += 1.0f;
  FfnBlock b;
  b.fc1.weight = tensor({f, d}, scaled(test::random_matrix(f, d, seed), 1.0f / std::sqrt(float(d))));
  b.fc1.bias = tensor({f}, scaled(test::random_matrix(1, f, seed + 1), 0.1f));
  b.fc2.weight = tensor({d, f}, scaled(test::random_matrix(d, f, seed + 2), 1.0f / std::sqrt(float(f))));
  b.fc2.bias = tensor({d}, scaled(test::random_matrix(1, d, seed + 3), 0.1f));
  b.norm.gamma = tensor({d}, gamma);
  b.norm.beta = tensor({d}, scaled(test::random_matrix(1, d, seed + 5), 0.1f));
  b.activation = act;
  b.pre_norm = pre_norm;
  return b;
}

void binarize(LinearWeights& l, int bits) {
  BinaryCodeOptions o;
  o.bits = bits;
  const Tensor& w = *l.weight;
  l.binary = std::make_shared<BinaryCodeTensor>(quantize_binary_code(w.data.data(), w.dim(0), w.dim(1), o).tensor);
  l.weight = nullptr;
}

// Rows of a residual stream: a few large directions (as real activations have) plus noise.
std::vector<float> stream(int64_t rows, int64_t d, unsigned seed) {
  std::vector<float> x = test::random_matrix(rows, d, seed);
  std::mt19937 rng(seed + 100);
  std::uniform_int_distribution<int64_t> col(0, d - 1);
  for (int k = 0; k < 3; ++k) {
    const int64_t c = col(rng);
    for (int64_t r = 0; r < rows; ++r) x[r * d + c] *= 6.0f;
  }
  return x;
}

double relative_error(const std::vector<float>& y, const std::vector<float>& target) {
  double e = 0, n = 0;
  for (size_t i = 0; i < y.size(); ++i) e += double(y[i] - target[i]) * (y[i] - target[i]), n += double(target[i]) * target[i];
  return std::sqrt(e / n);
}

}  // namespace

TEST_CASE("ffn_block_forward is LayerNorm(x + fc2(act(fc1 x))), or x + fc2(act(fc1 LN(x))) pre-norm") {
  const int64_t d = 5, f = 7, rows = 3;
  for (bool pre : {false, true}) {
    FfnBlock b = random_block(d, f, Activation::silu, pre, 11);
    const std::vector<float> x = test::random_matrix(rows, d, 12);
    std::vector<float> y(rows * d);
    ffn_block_forward(b, x.data(), rows, y.data());
    const auto &w1 = b.fc1.weight->data, &b1 = b.fc1.bias->data, &w2 = b.fc2.weight->data, &b2 = b.fc2.bias->data;
    const auto &g = b.norm.gamma->data, &be = b.norm.beta->data;
    auto layer_norm = [&](std::vector<double> v) {
      double m = 0, var = 0;
      for (double a : v) m += a / d;
      for (double a : v) var += (a - m) * (a - m) / d;
      for (int64_t j = 0; j < d; ++j) v[j] = (v[j] - m) / std::sqrt(var + 1e-5) * g[j] + be[j];
      return v;
    };
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<double> in(x.begin() + r * d, x.begin() + (r + 1) * d);
      const std::vector<double> u = pre ? layer_norm(in) : in;
      std::vector<double> a(f), out(d);
      for (int64_t i = 0; i < f; ++i) {
        double h = b1[i];
        for (int64_t j = 0; j < d; ++j) h += w1[i * d + j] * u[j];
        a[i] = h / (1 + std::exp(-h));
      }
      for (int64_t j = 0; j < d; ++j) {
        out[j] = b2[j] + in[j];
        for (int64_t i = 0; i < f; ++i) out[j] += w2[j * f + i] * a[i];
      }
      if (!pre) out = layer_norm(out);
      for (int64_t j = 0; j < d; ++j) CHECK(y[r * d + j] == doctest::Approx(out[j]).epsilon(1e-4));
    }
  }
}

TEST_CASE("reconstruct_ffn_block lowers the output error on rows it did not see, signs untouched") {
  struct Case {
    Activation act;
    bool pre;
    int bits;
    int64_t d, f;
  };
  for (const Case c : {Case{Activation::silu, false, 2, 64, 256}, Case{Activation::gelu, true, 3, 48, 200},
                       Case{Activation::relu, false, 3, 37, 101}}) {
    CAPTURE(int(c.act));
    CAPTURE(c.pre);
    FfnBlock fp32 = random_block(c.d, c.f, c.act, c.pre, 21 + c.bits);
    // The FP32 sub-layer's output on x, the quantized one fed x̂ = x + an upstream error.
    const int64_t rows = 1024, fresh = 256;
    std::vector<float> x = stream(rows + fresh, c.d, 31), x_hat = x;
    const std::vector<float> noise = test::random_matrix(rows + fresh, c.d, 32);
    for (size_t i = 0; i < x.size(); ++i) x_hat[i] += 0.05f * noise[i];
    std::vector<float> y(x.size());
    ffn_block_forward(fp32, x.data(), rows + fresh, y.data());

    FfnBlock q = fp32;
    binarize(q.fc1, c.bits);
    binarize(q.fc2, c.bits);
    const FfnBlock start = q;
    auto error_on_fresh = [&](const FfnBlock& b) {
      std::vector<float> out(fresh * c.d);
      ffn_block_forward(b, x_hat.data() + rows * c.d, fresh, out.data());
      return relative_error(out, std::vector<float>(y.begin() + rows * c.d, y.end()));
    };
    ReconstructionOptions o;
    o.iterations = 150;
    o.learning_rate = 3e-3;
    const ReconstructionResult r = reconstruct_ffn_block(q, x_hat.data(), y.data(), rows, o);
    MESSAGE("held-out " << r.start_error << " -> " << r.error << ", fresh " << error_on_fresh(start) << " -> "
                        << error_on_fresh(q));
    CHECK(r.best_iteration > 0);
    CHECK(r.error < 0.9 * r.start_error);
    CHECK(error_on_fresh(q) < 0.9 * error_on_fresh(start));
    // Only α, biases and the LayerNorm moved; the start's tensors were not written.
    CHECK(q.fc1.binary != start.fc1.binary);
    CHECK(q.fc1.binary->planes == start.fc1.binary->planes);
    CHECK(q.fc2.binary->planes == start.fc2.binary->planes);
    CHECK(q.fc1.binary->alphas != start.fc1.binary->alphas);
  }
}

TEST_CASE("reconstruct_ffn_block keeps the start when it is already exact, and refuses bad shapes") {
  FfnBlock b = random_block(16, 32, Activation::silu, false, 41);
  binarize(b.fc1, 2);
  binarize(b.fc2, 2);
  const std::vector<float> x = stream(64, 16, 42);
  std::vector<float> y(x.size());
  ffn_block_forward(b, x.data(), 64, y.data());
  const FfnBlock start = b;
  const ReconstructionResult r = reconstruct_ffn_block(b, x.data(), y.data(), 64, {});
  CHECK(r.best_iteration == 0);
  CHECK(r.error == r.start_error);
  CHECK(b.fc1.binary->alphas == start.fc1.binary->alphas);

  FfnBlock wrong = random_block(16, 32, Activation::silu, false, 43);
  wrong.fc2.weight = tensor({8, 32}, std::vector<float>(8 * 32, 0.0f));
  CHECK_THROWS(reconstruct_ffn_block(wrong, x.data(), y.data(), 64, {}));
}

// ---- Output reconstruction (quantize/output_reconstruction.h) ----

namespace {

// Σ_rows KL(softmax(h Wᵀ + b) ‖ softmax(ĥ Ŵᵀ + b)) / rows, in double.
double mean_kl(const std::vector<float>& w, const std::vector<float>& w_hat, const std::vector<float>& bias,
               const std::vector<float>& h, const std::vector<float>& h_hat, int64_t rows, int64_t vocab, int64_t d) {
  auto log_softmax = [&](const std::vector<float>& m, const float* x) {
    std::vector<double> z(vocab);
    double mx = -1e300, s = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      z[v] = bias[v];
      for (int64_t c = 0; c < d; ++c) z[v] += double(m[v * d + c]) * x[c];
      mx = std::max(mx, z[v]);
    }
    for (double a : z) s += std::exp(a - mx);
    for (double& a : z) a -= mx + std::log(s);
    return z;
  };
  double kl = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<double> lp = log_softmax(w, h.data() + r * d), lq = log_softmax(w_hat, h_hat.data() + r * d);
    for (int64_t v = 0; v < vocab; ++v) kl += std::exp(lp[v]) * (lp[v] - lq[v]);
  }
  return kl / double(rows);
}

}  // namespace

TEST_CASE("reconstruct_output lowers KL to the FP32 distribution on rows it did not see, clustered and plain codes") {
  const int64_t vocab = 301, d = 24, rows = 800, fresh = 200;
  std::vector<float> w = test::random_matrix(vocab, d, 51), bias = test::random_matrix(1, vocab, 52);
  for (float& v : w) v *= 0.8f;
  for (float& v : bias) v *= 0.5f;
  const Tensor table{{vocab, d}, w};
  // Hidden states with a few large directions, as a decoder's last layer has:
  // the start code (fitted to W alone) spends its error where h is large too.
  std::vector<float> h = stream(rows + fresh, d, 53), h_hat = h;
  const std::vector<float> noise = test::random_matrix(rows + fresh, d, 54);
  for (size_t i = 0; i < h.size(); ++i) h_hat[i] += 0.01f * noise[i];
  std::vector<int64_t> counts(vocab);
  for (int64_t v = 0; v < vocab; ++v) counts[v] = (v * 7919) % 1000;  // some frequency order, not the id order

  BinaryCodeOptions o;
  o.bits = 3;
  ReconstructionOptions ro;
  ro.iterations = 150;
  ro.learning_rate = 3e-3;
  auto decoded = [&](const OutputFit& f) {
    std::vector<float> m(vocab * d);
    for (int64_t v = 0; v < vocab; ++v) {
      if (f.clustered) f.clustered->decode_row(v, m.data() + v * d);
      else
        for (int64_t c = 0; c < d; ++c) m[v * d + c] = binary_code_value(*f.binary, v, c);
    }
    return m;
  };
  const std::vector<float> h_fresh(h.begin() + rows * d, h.end()), hq_fresh(h_hat.begin() + rows * d, h_hat.end());
  for (bool clustered : {true, false}) {
    CAPTURE(clustered);
    OutputFit start;
    if (clustered) {
      double err = 0;
      start.clustered = std::make_shared<ClusteredBinaryEmbedding>(cluster_embedding(table, counts, 2, 1.0, o, &err));
    } else {
      start.binary = std::make_shared<BinaryCodeTensor>(quantize_binary_code(w.data(), vocab, d, o).tensor);
    }
    const OutputFit fit = reconstruct_output(table, bias.data(), start.clustered, start.binary, h.data(), h_hat.data(),
                                             rows, ro);
    const double before = mean_kl(w, decoded(start), bias, h_fresh, hq_fresh, fresh, vocab, d);
    const double after = mean_kl(w, decoded(fit), bias, h_fresh, hq_fresh, fresh, vocab, d);
    MESSAGE("held-out KL " << fit.result.start_error << " -> " << fit.result.error << ", fresh " << before << " -> "
                           << after);
    CHECK(fit.result.best_iteration > 0);
    CHECK(fit.result.error < 0.9 * fit.result.start_error);
    CHECK(after < 0.9 * before);
    if (clustered) {
      CHECK(fit.clustered->order == start.clustered->order);
      for (size_t c = 0; c < start.clustered->clusters.size(); ++c)
        CHECK(fit.clustered->clusters[c].planes == start.clustered->clusters[c].planes);
    } else {
      CHECK(fit.binary->planes == start.binary->planes);
    }
  }
}
