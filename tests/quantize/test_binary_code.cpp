// Binary-code quantization: hand-computed greedy and least-squares cases, the
// alternating refinement never worse than greedy, error falling with more bits,
// per-group α, the packed layout against an independent reconstruction, and the
// activation-aware (column-weighted) objective.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quantize/binary_code.h"
#include "tests/quantize/random_matrix.h"
#include "util/error.h"
#include "util/half.h"

using namespace qtool;
using namespace qtool::quantize;

using test::random_matrix;

namespace {

// The method itself, α kept in full precision (the hand computations below).
BinaryCodeResult quantize_exact(const float* w, int64_t rows, int64_t cols, BinaryCodeOptions opt) {
  opt.half_alphas = false;
  return quantize_binary_code(w, rows, cols, opt);
}

double relative_error(const BinaryCodeTensor& t, const std::vector<float>& w) {
  double e = 0.0, n = 0.0;
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c = 0; c < t.cols; ++c) {
      const double d = w[r * t.cols + c] - binary_code_value(t, r, c);
      e += d * d;
      n += double(w[r * t.cols + c]) * w[r * t.cols + c];
    }
  return std::sqrt(e / n);
}

// √(Σ h (w − ŵ)² / Σ h w²) of a tensor, independently of the quantizer.
double weighted_error(const BinaryCodeTensor& t, const std::vector<float>& w, const std::vector<float>& h) {
  double e = 0.0, n = 0.0;
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c = 0; c < t.cols; ++c) {
      const double d = w[r * t.cols + c] - binary_code_value(t, r, c);
      e += h[c] * d * d;
      n += h[c] * double(w[r * t.cols + c]) * w[r * t.cols + c];
    }
  return std::sqrt(e / n);
}

std::vector<int> signs(const BinaryCodeTensor& t, int b, int64_t row) {
  std::vector<int> s;
  for (int64_t c = 0; c < t.cols; ++c) s.push_back(binary_code_sign(t, b, row, c));
  return s;
}

}  // namespace

TEST_CASE("binary code: greedy by hand") {
  const std::vector<float> w = {1, -3, 2, -2};
  SUBCASE("1 bit") {
    // α₁ = mean|w| = (1+3+2+2)/4 = 2, s₁ = sign(w) = [+,−,+,−]; Ŵ = [2,−2,2,−2];
    // error² = 1 + 1 + 0 + 0 = 2, ‖w‖² = 1+9+4+4 = 18.
    const BinaryCodeResult r = quantize_exact(w.data(), 1, 4, {1, 0, 0});
    CHECK(r.tensor.alpha(0, 0, 0) == 2.0f);
    CHECK(signs(r.tensor, 0, 0) == std::vector<int>{1, -1, 1, -1});
    CHECK(r.relative_error == doctest::Approx(std::sqrt(2.0 / 18.0)));
    CHECK(r.greedy_relative_error == r.relative_error);
  }
  SUBCASE("2 bits") {
    // residual w − 2·s₁ = [−1, −1, 0, 0] → α₂ = mean|r| = 0.5, s₂ = [−,−,+,+]
    // (sign(0) = +1); Ŵ = 2·s₁ + 0.5·s₂ = [1.5, −2.5, 2.5, −1.5], error² = 4·0.25 = 1.
    const BinaryCodeResult r = quantize_exact(w.data(), 1, 4, {2, 0, 0});
    CHECK(r.tensor.alpha(0, 0, 0) == 2.0f);
    CHECK(r.tensor.alpha(0, 1, 0) == 0.5f);
    CHECK(signs(r.tensor, 0, 0) == std::vector<int>{1, -1, 1, -1});
    CHECK(signs(r.tensor, 1, 0) == std::vector<int>{-1, -1, 1, 1});
    const std::vector<float> want = {1.5f, -2.5f, 2.5f, -1.5f};
    for (int c = 0; c < 4; ++c) CHECK(binary_code_value(r.tensor, 0, c) == want[c]);
    CHECK(r.relative_error == doctest::Approx(std::sqrt(1.0 / 18.0)));
  }
}

TEST_CASE("binary code: alternating refinement by hand") {
  // w = [0, 1, 2, 8], 2 bits, ‖w‖² = 69.
  // Greedy: α₁ = 11/4 = 2.75, s₁ = [+,+,+,+]; r = [−2.75, −1.75, −0.75, 5.25],
  //   α₂ = 10.5/4 = 2.625, s₂ = [−,−,−,+] → Ŵ = [.125, .125, .125, 5.375],
  //   error² = .015625 + .765625 + 3.515625 + 6.890625 = 11.1875.
  // (a) least squares for these signs: BᵀB = [[4, −2], [−2, 4]], Bᵀw = [11, 5]
  //   → α = [[4, 2], [2, 4]]·[11, 5] / 12 = (4.5, 3.5) → Ŵ = [1, 1, 1, 8], error² = 2.
  // (b) values {−8, −1, 1, 8}: w = 0 sits between −1 and 1, no code lowers the
  //   error, so the refinement stops at error² = 2.
  const std::vector<float> w = {0, 1, 2, 8};
  const BinaryCodeResult greedy = quantize_exact(w.data(), 1, 4, {2, 0, 0});
  CHECK(greedy.relative_error == doctest::Approx(std::sqrt(11.1875 / 69.0)));
  const BinaryCodeResult alt = quantize_exact(w.data(), 1, 4, {2, 0, 10});
  CHECK(alt.greedy_relative_error == doctest::Approx(std::sqrt(11.1875 / 69.0)));
  CHECK(alt.relative_error == doctest::Approx(std::sqrt(2.0 / 69.0)));
  CHECK(alt.tensor.alpha(0, 0, 0) == 4.5f);
  CHECK(alt.tensor.alpha(0, 1, 0) == 3.5f);
  CHECK(binary_code_value(alt.tensor, 0, 1) == 1.0f);
  CHECK(binary_code_value(alt.tensor, 0, 2) == 1.0f);
  CHECK(binary_code_value(alt.tensor, 0, 3) == 8.0f);
}

TEST_CASE("binary code: refinement never worse than greedy; error falls with bits") {
  const int64_t rows = 37, cols = 256;
  const std::vector<float> w = random_matrix(rows, cols, 3);
  for (int64_t group : {0, 64, 4}) {
    CAPTURE(group);
    double previous = 1.0;
    for (int bits = 1; bits <= 4; ++bits) {
      CAPTURE(bits);
      const BinaryCodeResult r = quantize_exact(w.data(), rows, cols, {bits, group, 10});
      CHECK(r.relative_error <= r.greedy_relative_error + 1e-12);
      CHECK(r.relative_error < previous);
      CHECK(r.relative_error == doctest::Approx(relative_error(r.tensor, w)).epsilon(1e-6));
      if (bits >= 2 && group != 4) CHECK(r.relative_error < r.greedy_relative_error);
      previous = r.relative_error;
    }
  }
  // Known scale for Gaussian weights: 1 bit per row keeps √(1 − 2/π) ≈ 0.60 of the norm.
  CHECK(quantize_exact(w.data(), rows, cols, {1, 0, 0}).relative_error == doctest::Approx(0.603).epsilon(0.05));
}

TEST_CASE("binary code: one α per plane per group") {
  // Row = [1, 1, 1, 1 | 10, 10, 10, 10] in groups of 4: each group is exact at 1 bit.
  const std::vector<float> w = {1, -1, 1, -1, 10, 10, -10, 10};
  const BinaryCodeResult r = quantize_exact(w.data(), 1, 8, {1, 4, 0});
  CHECK(r.tensor.groups() == 2);
  CHECK(r.tensor.alpha(0, 0, 0) == 1.0f);
  CHECK(r.tensor.alpha(0, 0, 1) == 10.0f);
  CHECK(r.relative_error == 0.0);
  for (int c = 0; c < 8; ++c) CHECK(binary_code_value(r.tensor, 0, c) == w[c]);
  // Per row the same row needs one α: 5.5, and is far from exact.
  CHECK(quantize_exact(w.data(), 1, 8, {1, 0, 0}).relative_error > 0.5);
}

TEST_CASE("binary code: the packed layout round-trips for odd shapes") {
  for (int64_t rows : {1, 15, 17, 33})
    for (int64_t cols : {4, 8, 10, 12, 100, 260})
      for (int bits : {1, 3, 4}) {
        CAPTURE(rows);
        CAPTURE(cols);
        CAPTURE(bits);
        const int64_t group = cols % 8 == 0 ? 8 : 0;
        const std::vector<float> w = random_matrix(rows, cols, unsigned(rows * 1000 + cols));
        const BinaryCodeTensor t = quantize_exact(w.data(), rows, cols, {bits, group, 3}).tensor;
        REQUIRE(int64_t(t.planes.size()) == t.row_blocks() * t.col_quads() * bits);
        CHECK(binary_code_bytes(t) == int64_t(t.planes.size() * 8 + t.alphas.size() * 2));  // α as halves
        // Unpack every sign straight from the documented word/bit formula.
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            float want = 0.0f;
            for (int b = 0; b < bits; ++b) {
              const uint64_t word = t.planes[((r / 16) * t.col_quads() + c / 4) * bits + b];
              const bool pos = (word >> ((r % 16) * 4 + c % 4)) & 1;
              want += t.alphas[(r * bits + b) * t.groups() + c / t.group_size] * (pos ? 1.0f : -1.0f);
            }
            CHECK(binary_code_value(t, r, c) == want);
          }
        // Padding bits (rows past `rows`, columns past `cols`) are 0.
        for (int64_t blk = 0; blk < t.row_blocks(); ++blk)
          for (int64_t q = 0; q < t.col_quads(); ++q)
            for (int b = 0; b < bits; ++b)
              for (int bit = 0; bit < 64; ++bit)
                if (blk * 16 + bit / 4 >= rows || q * 4 + bit % 4 >= cols)
                  CHECK(((t.planes[(blk * t.col_quads() + q) * bits + b] >> bit) & 1) == 0);
        // A view over the same memory decodes identically.
        const BinaryCodeTensor v =
            BinaryCodeTensor::view(rows, cols, bits, group, t.planes.data(), t.alphas.data());
        CHECK(v.is_view());
        CHECK(binary_code_value(v, rows - 1, cols - 1) == binary_code_value(t, rows - 1, cols - 1));
      }
}

TEST_CASE("binary code: bad arguments are refused") {
  const std::vector<float> w(16, 1.0f);
  CHECK_THROWS_AS(quantize_exact(w.data(), 2, 8, {0, 0, 0}), Error);
  CHECK_THROWS_AS(quantize_exact(w.data(), 2, 8, {5, 0, 0}), Error);
  CHECK_THROWS_AS(quantize_exact(w.data(), 2, 8, {2, 6, 0}), Error);
  CHECK_THROWS_AS(quantize_exact(w.data(), 2, 8, {2, -4, 0}), Error);
  CHECK_THROWS_AS(quantize_exact(w.data(), 2, 8, {2, 0, -1}), Error);
  CHECK_THROWS_AS(quantize_exact(w.data(), 0, 8, {2, 0, 0}), Error);
  std::vector<float> bad = w;
  bad[5] = std::nanf("");
  CHECK_THROWS_WITH_AS(quantize_exact(bad.data(), 2, 8, {2, 0, 0}), doctest::Contains("[0, 5]"), Error);
  bad[5] = INFINITY;
  CHECK_THROWS_AS(quantize_exact(bad.data(), 2, 8, {2, 0, 0}), Error);
  // All-zero weights: α = 0, error 0.
  const std::vector<float> z(8, 0.0f);
  const BinaryCodeResult r = quantize_exact(z.data(), 1, 8, {3, 0, 10});
  CHECK(r.relative_error == 0.0);
  CHECK(binary_code_value(r.tensor, 0, 3) == 0.0f);
}

TEST_CASE("binary code: column weights by hand") {
  const std::vector<float> w = {1, -3, 2, -2};
  const std::vector<float> h = {100, 1, 1, 1};  // Σh = 103, Σh·w² = 117
  BinaryCodeOptions opt{1, 0, 0};
  opt.column_weights = h.data();
  SUBCASE("1 bit") {
    // α₁ = Σh|w| / Σh = (100 + 3 + 2 + 2) / 103; signs as unweighted. For one plane
    // with fixed signs the weighted least squares is the same α, so refinement keeps it.
    const float a = float(107.0 / 103.0);
    for (int iterations : {0, 10}) {
      CAPTURE(iterations);
      opt.iterations = iterations;
      const BinaryCodeResult r = quantize_exact(w.data(), 1, 4, opt);
      CHECK(r.tensor.alpha(0, 0, 0) == a);
      CHECK(signs(r.tensor, 0, 0) == std::vector<int>{1, -1, 1, -1});
      const double e2 = 100 * (1 - a) * (1 - a) + (3 - a) * (3 - a) + 2 * (2 - a) * (2 - a);
      CHECK(r.weighted_relative_error == doctest::Approx(std::sqrt(e2 / 117.0)));
      // relative_error stays the unweighted one.
      const double u2 = (1 - a) * (1 - a) + (3 - a) * (3 - a) + 2 * (2 - a) * (2 - a);
      CHECK(r.relative_error == doctest::Approx(std::sqrt(u2 / 18.0)));
    }
  }
  SUBCASE("2 bits: the heavy column is reconstructed exactly") {
    // Greedy: α₁ = 107/103, residual ≈ [−0.04, −1.96, 0.96, −0.96] → s₂ = [−,−,+,−].
    // Codes (+,−), (−,−), (+,+), (−,−): weighted least squares makes α₁ − α₂ = 1
    // (the heavy weight alone) and α₁ + α₂ = the mean of 3, 2, 2 = 7/3 → α = (5/3, 2/3);
    // Ŵ = [1, −7/3, 7/3, −7/3], weighted error² = 0 + 4/9 + 1/9 + 1/9 = 2/3.
    opt.bits = 2;
    opt.iterations = 10;
    const BinaryCodeResult r = quantize_exact(w.data(), 1, 4, opt);
    CHECK(r.tensor.alpha(0, 0, 0) == doctest::Approx(5.0 / 3.0));
    CHECK(r.tensor.alpha(0, 1, 0) == doctest::Approx(2.0 / 3.0));
    CHECK(binary_code_value(r.tensor, 0, 0) == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(binary_code_value(r.tensor, 0, 1) == doctest::Approx(-7.0 / 3.0));
    CHECK(r.weighted_relative_error == doctest::Approx(std::sqrt((2.0 / 3.0) / 117.0)).epsilon(1e-5));
    // Unweighted, the refinement stays at [1.5, −2.5, 2.5, −1.5]: the heavy column is off by 0.5.
    const BinaryCodeResult u = quantize_exact(w.data(), 1, 4, {2, 0, 10});
    CHECK(binary_code_value(u.tensor, 0, 0) == 1.5f);
    CHECK(weighted_error(u.tensor, w, h) == doctest::Approx(std::sqrt(25.75 / 117.0)));
    CHECK(r.weighted_relative_error < 0.2 * weighted_error(u.tensor, w, h));
  }
}

TEST_CASE("binary code: column weights lower the weighted error on random matrices") {
  const int64_t rows = 37, cols = 256;
  const std::vector<float> w = random_matrix(rows, cols, 11);
  std::mt19937 rng(12);
  std::lognormal_distribution<float> spread(0.0f, 1.5f);  // a few outlier columns
  std::vector<float> h(cols);
  for (float& v : h) v = spread(rng);
  for (int64_t group : {0, 64}) {
    for (int bits = 1; bits <= 4; ++bits) {
      CAPTURE(group);
      CAPTURE(bits);
      const BinaryCodeResult u = quantize_exact(w.data(), rows, cols, {bits, group, 10});
      BinaryCodeOptions opt{bits, group, 10};
      opt.column_weights = h.data();
      const BinaryCodeResult a = quantize_exact(w.data(), rows, cols, opt);
      CHECK(a.weighted_relative_error == doctest::Approx(weighted_error(a.tensor, w, h)).epsilon(1e-6));
      CHECK(a.relative_error == doctest::Approx(relative_error(a.tensor, w)).epsilon(1e-6));
      CHECK(u.weighted_relative_error == u.relative_error);
      CHECK(a.weighted_relative_error <= weighted_error(u.tensor, w, h) + 1e-12);
    }
  }
}

TEST_CASE("binary code: unit or all-zero column weights change nothing; bad weights are refused") {
  const int64_t rows = 20, cols = 64;
  const std::vector<float> w = random_matrix(rows, cols, 5);
  for (float fill : {1.0f, 0.0f}) {
    CAPTURE(fill);
    const std::vector<float> h(cols, fill);
    for (int64_t group : {0, 16}) {
      const BinaryCodeResult u = quantize_exact(w.data(), rows, cols, {3, group, 10});
      BinaryCodeOptions opt{3, group, 10};
      opt.column_weights = h.data();
      const BinaryCodeResult a = quantize_exact(w.data(), rows, cols, opt);
      CHECK(a.tensor.planes == u.tensor.planes);
      CHECK(a.tensor.alphas == u.tensor.alphas);
      // (the OpenMP reduction may add the rows' errors in another order)
      CHECK(a.relative_error == doctest::Approx(u.relative_error).epsilon(1e-12));
      CHECK(a.weighted_relative_error == (fill == 1.0f ? doctest::Approx(u.relative_error) : doctest::Approx(0.0)));
    }
  }
  std::vector<float> h(cols, 1.0f);
  BinaryCodeOptions opt{2, 0, 10};
  opt.column_weights = h.data();
  h[7] = -1.0f;
  CHECK_THROWS_WITH_AS(quantize_exact(w.data(), rows, cols, opt), doctest::Contains("column weight [7]"), Error);
  h[7] = std::nanf("");
  CHECK_THROWS_AS(quantize_exact(w.data(), rows, cols, opt), Error);
}

TEST_CASE("binary code: α rounded to halves (what a .qtm stores) cost almost nothing") {
  const int64_t rows = 40, cols = 96;
  const std::vector<float> w = random_matrix(rows, cols, 11);
  for (int bits = 1; bits <= 4; ++bits) {
    CAPTURE(bits);
    BinaryCodeOptions opt{bits, 0, 10};
    const BinaryCodeResult half = quantize_binary_code(w.data(), rows, cols, opt);
    const BinaryCodeResult full = quantize_exact(w.data(), rows, cols, opt);
    bool some_differ = false;
    for (int64_t i = 0; i < half.tensor.alpha_count(); ++i) {
      CHECK(half.tensor.alphas[i] == round_to_half(half.tensor.alphas[i]));
      some_differ |= full.tensor.alphas[i] != round_to_half(full.tensor.alphas[i]);
    }
    CHECK(some_differ);  // the exact method's α are not halves already
    // An α moves by at most 2^-11 of itself, far below a 1–4-bit code's error.
    CHECK(half.relative_error == doctest::Approx(full.relative_error).epsilon(1e-3));
    CHECK(half.relative_error == doctest::Approx(relative_error(half.tensor, w)).epsilon(1e-6));
  }
}

TEST_CASE("binary code: stored bytes from a shape match the tensor's") {
  for (int64_t rows : {1, 15, 16, 33})
    for (int64_t cols : {4, 7, 64, 130})
      for (int bits = 1; bits <= 4; ++bits)
        for (int64_t gs : {int64_t(0), int64_t(4), int64_t(64)}) {
          CAPTURE(rows);
          CAPTURE(cols);
          CAPTURE(bits);
          CAPTURE(gs);
          const BinaryCodeTensor t = BinaryCodeTensor::make(rows, cols, bits, gs);
          CHECK(binary_code_bytes(rows, cols, bits, gs) == binary_code_bytes(t));
        }
  // By hand: 16 rows × 256 columns at 2 bits, per-row α: 64 words of planes, 32 halves.
  CHECK(binary_code_bytes(16, 256, 2, 0) == 1 * 64 * 2 * 8 + 16 * 2 * 2);
}
