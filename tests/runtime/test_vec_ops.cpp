// Every vectorised row kernel against the scalar reference, on random data and
// lengths that are not multiples of any vector width.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/vec_ops.h"

using namespace qtool::runtime;

namespace {

// The vectorised tables this CPU runs (the reference, first in the list, left out).
std::vector<const VecOps*> available() {
  std::vector<const VecOps*> t = vec_ops_runnable();
  t.erase(t.begin());
  return t;
}

std::vector<float> random_vec(std::mt19937& rng, int64_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

void check_close(const std::vector<float>& a, const std::vector<float>& b, double rel) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(rel).scale(1.0));
}

}  // namespace

TEST_CASE("vector kernels equal the scalar reference on odd lengths") {
  const VecOps& ref = vec_ops_ref();
  auto tables = available();
  if (tables.empty()) MESSAGE("no vector instruction set on this CPU: only the reference runs");
  std::mt19937 rng(3);
  for (const VecOps* t : tables) {
    CAPTURE(t->isa);
    for (int64_t n : {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257, 8000}) {
      CAPTURE(n);
      auto a = random_vec(rng, n, -3, 3), b = random_vec(rng, n, -3, 3);
      CHECK(t->dot(a.data(), b.data(), n) == doctest::Approx(ref.dot(a.data(), b.data(), n)).epsilon(1e-4).scale(1.0));

      auto y1 = b, y2 = b;
      ref.axpy(0.7f, a.data(), y1.data(), n);
      t->axpy(0.7f, a.data(), y2.data(), n);
      check_close(y2, y1, 1e-6);

      for (VecAct act : {VecAct::none, VecAct::relu, VecAct::silu, VecAct::gelu, VecAct::gelu_tanh, VecAct::quick_gelu,
                         VecAct::tanh, VecAct::sigmoid, VecAct::relu6, VecAct::leaky_relu, VecAct::mish}) {
        auto z1 = a, z2 = a;
        ref.add_bias_act(z1.data(), b.data(), n, act);
        t->add_bias_act(z2.data(), b.data(), n, act);
        check_close(z2, z1, 1e-5);
      }

      auto g = random_vec(rng, n, 0.5f, 1.5f), be = random_vec(rng, n, -1, 1);
      auto x1 = a, x2 = a;
      std::vector<float> o1(n), o2(n);
      ref.add_layer_norm(x1.data(), b.data(), n, g.data(), be.data(), o1.data());
      t->add_layer_norm(x2.data(), b.data(), n, g.data(), be.data(), o2.data());
      check_close(x2, x1, 1e-6);
      if (n > 1) check_close(o2, o1, 1e-4);

      auto s1 = random_vec(rng, n, -30, 30), s2 = s1, l1 = s1, l2 = s1;
      ref.softmax(s1.data(), n);
      t->softmax(s2.data(), n);
      check_close(s2, s1, 1e-5);
      ref.log_softmax(l1.data(), n);
      t->log_softmax(l2.data(), n);
      check_close(l2, l1, 1e-5);

      // Quantization and dequantization are exact: same rounding, same products.
      std::vector<uint8_t> q1(n), q2(n);
      CHECK(t->quantize_u8(a.data(), n, 0.0f, q2.data()) == ref.quantize_u8(a.data(), n, 0.0f, q1.data()));
      CHECK(q2 == q1);
      t->quantize_u8(a.data(), n, 0.01f, q2.data());  // static scale: most values clip
      ref.quantize_u8(a.data(), n, 0.01f, q1.data());
      CHECK(q2 == q1);
      std::uniform_int_distribution<int32_t> big(-5000000, 5000000), small(-30000, 30000);
      std::vector<int32_t> acc(n), sums(n);
      for (int64_t i = 0; i < n; ++i) acc[i] = big(rng), sums[i] = small(rng);
      std::vector<float> d1(n), d2(n);
      for (int32_t zero : {0, 17, 128, 254}) {
        ref.dequantize_s32(acc.data(), sums.data(), zero, 0.013f, g.data(), nullptr, VecAct::none, n, d1.data());
        t->dequantize_s32(acc.data(), sums.data(), zero, 0.013f, g.data(), nullptr, VecAct::none, n, d2.data());
        CHECK(d2 == d1);
        for (VecAct act : {VecAct::relu, VecAct::silu, VecAct::gelu, VecAct::tanh, VecAct::mish}) {  // fused bias + activation
          ref.dequantize_s32(acc.data(), sums.data(), zero, 1e-5f, g.data(), be.data(), act, n, d1.data());
          t->dequantize_s32(acc.data(), sums.data(), zero, 1e-5f, g.data(), be.data(), act, n, d2.data());
          check_close(d2, d1, 1e-5);
        }
      }
      for (int32_t zero : {0, 1, 17, 128, 254}) {  // one-sided, lopsided, centred, almost all negative
        CAPTURE(zero);
        for (float s : {0.01f, 0.003f, 1.7f}) {
          t->quantize_u8_affine(a.data(), n, s, zero, q2.data());
          ref.quantize_u8_affine(a.data(), n, s, zero, q1.data());
          CHECK(q2 == q1);
        }
      }
    }
  }
}

TEST_CASE("argmax: the first largest, as std::max_element, ties and signed zeros included") {
  std::vector<const VecOps*> tables = available();
  tables.insert(tables.begin(), &vec_ops_ref());
  std::mt19937 rng(8);
  for (const VecOps* t : tables) {
    CAPTURE(t->isa);
    for (int64_t n : {1, 2, 15, 16, 17, 33, 100, 8000}) {
      CAPTURE(n);
      std::uniform_int_distribution<int64_t> at(0, n - 1);
      for (int round = 0; round < 20; ++round) {
        // Few distinct values, so the largest often repeats.
        std::vector<float> x = random_vec(rng, n, -3, 3);
        for (float& v : x) v = std::round(v);
        if (round % 4 == 1) x[at(rng)] = 3.5f, x[at(rng)] = 3.5f;
        if (round % 4 == 2) std::fill(x.begin(), x.end(), -0.0f), x[at(rng)] = 0.0f;
        if (round % 4 == 3) x.back() = 9.0f;
        CHECK(t->argmax(x.data(), n) == std::max_element(x.begin(), x.end()) - x.begin());
      }
    }
  }
}

TEST_CASE("scalar reference quantization on hand-computed values") {
  const VecOps& ref = vec_ops_ref();
  const float x[4] = {-2.54f, 0.0f, 1.27f, 0.005f};
  uint8_t q[4];
  // s = 2.54 / 127 = 0.02: q = round(x / s) + 128 = {1, 128, 191.5 → 192 (ties to even: 63.5 → 64), 128}
  CHECK(ref.quantize_u8(x, 4, 0.0f, q) == doctest::Approx(0.02f));
  CHECK(q[0] == 1);
  CHECK(q[1] == 128);
  CHECK(q[3] == 128);
  // A static scale of 0.01 clips −2.54 to −127 and 1.27 to 127.
  CHECK(ref.quantize_u8(x, 4, 0.01f, q) == 0.01f);
  CHECK(q[0] == 1);
  CHECK(q[2] == 255);
  const int32_t acc[2] = {1000, -50}, sums[2] = {3, -1};
  const float cs[2] = {0.5f, 2.0f};
  float out[2];
  ref.dequantize_s32(acc, sums, 128, 0.1f, cs, nullptr, VecAct::none, 2, out);
  CHECK(out[0] == doctest::Approx((1000 - 384) * 0.05));
  CHECK(out[1] == doctest::Approx((-50 + 128) * 0.2));
  // zero point 0 (one-sided input), bias and ReLU fused: (1000·0.05 + 1, max(−50·0.2 − 1, 0))
  const float bias[2] = {1.0f, -1.0f};
  ref.dequantize_s32(acc, sums, 0, 0.1f, cs, bias, VecAct::relu, 2, out);
  CHECK(out[0] == doctest::Approx(51.0));
  CHECK(out[1] == 0.0f);
  // One-sided: s = 0.01, z = 0: {−2.54 → 0, 0 → 0, 1.27 → 127, 0.005 → 0 (0.5 ties to even)}
  ref.quantize_u8_affine(x, 4, 0.01f, 0, q);
  CHECK(q[0] == 0);
  CHECK(q[1] == 0);
  CHECK(q[2] == 127);
  CHECK(q[3] == 0);
  // A GELU-like range [−0.2, 2.35]: s = 0.01, z = 20: {−2.54 clips to 0, 0 → 20, 1.27 → 147, 0.005 → 20}
  ref.quantize_u8_affine(x, 4, 0.01f, 20, q);
  CHECK(q[0] == 0);
  CHECK(q[1] == 20);
  CHECK(q[2] == 147);
  CHECK(q[3] == 20);
  // and past the top: 4.0 / 0.01 + 20 = 420 clips to 255
  const float big = 4.0f;
  ref.quantize_u8_affine(&big, 1, 0.01f, 20, q);
  CHECK(q[0] == 255);
  // The zero point comes off in the epilogue: (acc − 20·sums)·row_scale·col_scale
  ref.dequantize_s32(acc, sums, 20, 0.1f, cs, nullptr, VecAct::none, 2, out);
  CHECK(out[0] == doctest::Approx((1000 - 60) * 0.05));
  CHECK(out[1] == doctest::Approx((-50 + 20) * 0.2));
}

TEST_CASE("scalar reference kernels on hand-computed values") {
  const VecOps& ref = vec_ops_ref();
  const float a[3] = {1, 2, 3}, b[3] = {4, -5, 6};
  CHECK(ref.dot(a, b, 3) == 12.0f);
  float s[2] = {0, std::log(3.0f)};
  ref.softmax(s, 2);
  CHECK(s[0] == doctest::Approx(0.25));
  CHECK(s[1] == doctest::Approx(0.75));
}

TEST_CASE("attention row kernels equal per-row dot and axpy, on every table") {
  std::vector<const VecOps*> tables = available();
  tables.push_back(&vec_ops_ref());
  std::mt19937 rng(11);
  for (const VecOps* t : tables) {
    CAPTURE(t->isa);
    for (int64_t dim : {1, 5, 16, 17, 32, 64, 65, 100}) {
      for (int64_t rows : {1, 3, 4, 5, 9, 40}) {
        CAPTURE(dim);
        CAPTURE(rows);
        const int64_t stride = dim + 3;  // rows of a wider buffer, as heads are
        auto a = random_vec(rng, dim, -2, 2), B = random_vec(rng, rows * stride, -2, 2);
        auto p = random_vec(rng, rows, 0, 1);
        std::vector<float> scores(rows), want_scores(rows);
        t->dot_rows(a.data(), B.data(), stride, rows, dim, scores.data());
        for (int64_t j = 0; j < rows; ++j) want_scores[j] = t->dot(a.data(), B.data() + j * stride, dim);
        check_close(scores, want_scores, 1e-5);
        std::vector<float> out(dim, -1.0f), want(dim, 0.0f);
        t->weighted_sum_rows(p.data(), B.data(), stride, rows, dim, out.data());
        for (int64_t j = 0; j < rows; ++j) t->axpy(p[j], B.data() + j * stride, want.data(), dim);
        CHECK(out == want);
        // and against plain double arithmetic
        for (int64_t c = 0; c < dim; ++c) {
          double s = 0;
          for (int64_t j = 0; j < rows; ++j) s += double(p[j]) * B[j * stride + c];
          CHECK(out[c] == doctest::Approx(s).epsilon(1e-5).scale(1.0));
        }
      }
    }
  }
}

TEST_CASE("activations on hand-computed values (Hugging Face's definitions), every table") {
  std::vector<const VecOps*> tables = available();
  tables.insert(tables.begin(), &vec_ops_ref());
  // x, then per activation the expected value: PyTorch's formulas evaluated in
  // double precision by Python's math module (math.tanh, math.exp, math.log1p).
  const float x[6] = {0.0f, 1.0f, -2.0f, 7.0f, 0.54930614f, -30.0f};
  const float zero[6] = {0, 0, 0, 0, 0, 0};
  struct Expect {
    VecAct act;
    float y[6];
  };
  const Expect cases[] = {
      // σ(1) = 0.7310586, σ(−2) = 0.1192029, σ(7) = 0.9990889, σ(0.5493) = 0.6339746
      {VecAct::sigmoid, {0.5f, 0.7310586f, 0.1192029f, 0.9990889f, 0.6339746f, 0.0f}},
      // tanh(0.5493061) = 0.5 (artanh 0.5); tanh(−30) = −1
      {VecAct::tanh, {0.0f, 0.7615942f, -0.9640276f, 0.9999983f, 0.5f, -1.0f}},
      {VecAct::relu6, {0.0f, 1.0f, 0.0f, 6.0f, 0.54930614f, 0.0f}},
      {VecAct::leaky_relu, {0.0f, 1.0f, -0.02f, 7.0f, 0.54930614f, -0.3f}},
      // x·σ(1.702x)
      {VecAct::quick_gelu, {0.0f, 0.8457958f, -0.0643414f, 6.9999531f, 0.3944415f, -0.0f}},
      // x·tanh(ln(1 + eˣ))
      {VecAct::mish, {0.0f, 0.8650984f, -0.2525015f, 6.9999884f, 0.4195095f, -2.8e-12f}},
  };
  for (const VecOps* t : tables)
    for (const Expect& c : cases) {
      CAPTURE(t->isa);
      CAPTURE(int(c.act));
      float y[6];
      std::copy(x, x + 6, y);
      t->add_bias_act(y, zero, 6, c.act);
      for (int i = 0; i < 6; ++i) {
        CAPTURE(i);
        CHECK(y[i] == doctest::Approx(c.y[i]).epsilon(2e-6).scale(1.0));
      }
    }
}

