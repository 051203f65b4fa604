// Input ranges chosen by the product's output error, on synthetic inputs shaped
// like real activations (GELU and SiLU outputs, spiky and heavy-tailed), and the
// fallback rule on layers built to need it.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <random>

#include "calibrate/product_error.h"
#include "calibrate/thresholds.h"
#include "util/error.h"

using namespace qtool;
using namespace qtool::calibrate;

namespace {

// A linear layer in → out with N(0, 1/in) weights and small biases.
LinearProduct random_product(int64_t in, int64_t out, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f / std::sqrt(float(in)));
  auto w = std::make_shared<Tensor>(), b = std::make_shared<Tensor>();
  w->shape = {out, in};
  b->shape = {out};
  for (int64_t i = 0; i < out * in; ++i) w->data.push_back(g(rng));
  for (int64_t i = 0; i < out; ++i) b->data.push_back(0.1f * g(rng));
  LinearWeights lw;
  lw.weight = w;
  lw.bias = b;
  return {"layer", {lw}, std::nullopt};
}

// fit / check rows drawn by `draw`, with the histogram and min/max of all of them.
struct Sampled {
  InputSample sample;
  Histogram hist{2048};
};
Sampled sample_of(int64_t cols, int64_t rows, const std::function<float(std::mt19937&, int64_t col)>& draw,
                  uint32_t seed) {
  std::mt19937 rng(seed);
  Sampled s;
  s.sample.cols = cols;
  s.sample.min = INFINITY, s.sample.max = -INFINITY;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<float>& to = r % 3 == 2 ? s.sample.check : s.sample.fit;
    for (int64_t c = 0; c < cols; ++c) {
      const float v = draw(rng, c);
      to.push_back(v);
      s.sample.min = std::min<double>(s.sample.min, v), s.sample.max = std::max<double>(s.sample.max, v);
      s.hist.add(&v, 1);
    }
  }
  return s;
}

float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678f)); }
float silu(float x) { return x / (1.0f + std::exp(-x)); }

// The error of the symmetric KL range (what calibration did before), for comparison.
double kl_symmetric_error(const LinearProduct& p, const Sampled& s) {
  const ProductErrorMeter m(p);
  return m.error({float(kl_threshold(s.hist, 128)), false, 0}, s.sample.check);
}

}  // namespace

TEST_CASE("fallback rule: static no worse than dynamic stays; else dynamic; FP32 past the error bound") {
  CHECK(fallback_mode(1e-4, 1e-4) == InputMode::static_range);
  CHECK(fallback_mode(0.9e-4, 1e-4) == InputMode::static_range);
  CHECK(fallback_mode(1.1e-4, 1e-4) == InputMode::dynamic);
  CHECK(fallback_mode(1.4e-4, 1e-4, {1.5, 4e-3}) == InputMode::static_range);
  CHECK(fallback_mode(1e-1, 4e-3) == InputMode::dynamic);
  CHECK(fallback_mode(1e-1, 5e-3) == InputMode::fp32);
  CHECK(fallback_mode(1e-1, 5e-3, {1.0, 1e-2}) == InputMode::dynamic);
  CHECK(std::string(input_mode_name(parse_input_mode("fp32"))) == "fp32");
  CHECK_THROWS_AS(parse_input_mode("int4"), Error);
}

TEST_CASE("GELU outputs: the chosen range keeps the tail and the floor (asymmetric), where KL clips") {
  // FFN hidden units: GELU of pre-activations whose scale differs per unit, so a
  // few units reach 5–7 while most stay below 1 (the shape seen in GELU models).
  const int64_t in = 256, out = 64;
  const LinearProduct p = random_product(in, out, 1);
  const Sampled s = sample_of(in, 600, [](std::mt19937& rng, int64_t c) {
    std::normal_distribution<float> g(0.0f, c % 16 == 0 ? 2.5f : 0.7f);
    return gelu(g(rng));
  }, 2);
  const ProductChoice c = choose_input_range(p, s.sample, range_candidates(s.hist, s.sample.min, s.sample.max, 99.99));
  const double kl_t = kl_threshold(s.hist, 128), kl_error = kl_symmetric_error(p, s);
  MESSAGE("GELU: chosen " << c.chosen_by << " T " << c.input.threshold << " z " << c.input.zero_point << " error "
                          << c.static_error << " (dynamic " << c.dynamic_error << "); KL T " << kl_t << " error "
                          << kl_error << "; max " << s.sample.max);
  CHECK(c.input.asymmetric);
  CHECK(c.input.zero_point > 0);                // the negative floor (−0.17) is kept…
  CHECK(c.input.low() <= -0.1);
  CHECK(c.input.threshold > kl_t);              // …and the tail is not clipped as KL clips it
  CHECK(c.static_error < 0.5 * kl_error);
  CHECK(c.static_error < 1.2 * c.dynamic_error);  // as good as per-row scales, where KL is far worse
}

TEST_CASE("SiLU, spiky and heavy-tailed inputs: never worse than KL, and judged against dynamic") {
  const int64_t in = 192, out = 96;
  const LinearProduct p = random_product(in, out, 3);
  struct Shape {
    const char* name;
    std::function<float(std::mt19937&, int64_t)> draw;
  };
  const std::vector<Shape> shapes = {
      {"silu", [](std::mt19937& rng, int64_t c) { return silu(std::normal_distribution<float>(0, c % 8 ? 1.0f : 3.0f)(rng)); }},
      // A few outlier channels 20x larger than the rest (attention output projections).
      {"spiky", [](std::mt19937& rng, int64_t c) { return std::normal_distribution<float>(0, c % 37 == 5 ? 20.0f : 1.0f)(rng); }},
      // Student-t with 3 degrees of freedom: rare values far out.
      {"heavy-tailed", [](std::mt19937& rng, int64_t) { return std::student_t_distribution<float>(3.0f)(rng); }},
      // Skewed: exponential minus a small offset.
      {"skewed", [](std::mt19937& rng, int64_t) { return std::exponential_distribution<float>(1.5f)(rng) - 0.3f; }},
  };
  for (const Shape& shape : shapes) {
    CAPTURE(shape.name);
    const Sampled s = sample_of(in, 600, shape.draw, 4);
    const auto cands = range_candidates(s.hist, s.sample.min, s.sample.max, 99.99);
    const ProductChoice c = choose_input_range(p, s.sample, cands);
    const double kl_error = kl_symmetric_error(p, s);
    MESSAGE(shape.name << ": chosen " << c.chosen_by << (c.input.asymmetric ? " asymmetric" : " symmetric") << " T "
                       << c.input.threshold << " error " << c.static_error << " (dynamic " << c.dynamic_error
                       << ", KL " << kl_error << ") → " << input_mode_name(c.mode));
    // Chosen on the fit rows, measured on held-back ones: within noise of KL or better.
    CHECK(c.static_error <= 1.1 * kl_error);
    CHECK(c.static_error > 0.0);
    CHECK(c.clipped_fraction >= 0.0);
    CHECK(c.clipped_fraction < 0.01);
    CHECK(c.mode == fallback_mode(c.static_error, c.dynamic_error));
  }
}

TEST_CASE("a layer whose rows differ in scale by 1000x falls back to dynamic; one that 8 bits cannot carry to FP32") {
  const int64_t in = 128, out = 32;
  const LinearProduct p = random_product(in, out, 5);
  // Row r has scale 10^(−3 + 3·(r mod 4)/3): one static scale gives the small rows a handful of levels.
  int64_t row = 0;
  const Sampled varying = sample_of(in, 300, [&](std::mt19937& rng, int64_t c) {
    const float scale = std::pow(10.0f, -3.0f + float((row / in) % 4));
    ++row;
    return std::normal_distribution<float>(0, scale)(rng);
  }, 6);
  const ProductChoice a = choose_input_range(p, varying.sample, range_candidates(varying.hist, varying.sample.min,
                                                                                 varying.sample.max, 99.99));
  MESSAGE("row scales 1e-3..1: static " << a.static_error << ", dynamic " << a.dynamic_error);
  CHECK(a.static_error > 2 * a.dynamic_error);
  CHECK(a.mode == InputMode::dynamic);

  // Every row carries a 1e4 outlier in column 0, whose weights are 0: per-row
  // scales are set by the outlier and the signal rounds to nothing.
  auto w = std::make_shared<Tensor>(*p.parts[0].weight);
  for (int64_t o = 0; o < out; ++o) w->data[o * in] = 0.0f;
  LinearProduct masked = p;
  masked.parts[0].weight = w;
  const Sampled outlier = sample_of(in, 300, [](std::mt19937& rng, int64_t c) {
    return c == 0 ? 1e4f : std::normal_distribution<float>(0, 1)(rng);
  }, 7);
  const ProductChoice b = choose_input_range(masked, outlier.sample, range_candidates(outlier.hist, outlier.sample.min,
                                                                                     outlier.sample.max, 99.99));
  MESSAGE("1e4 outlier column: static " << b.static_error << ", dynamic " << b.dynamic_error);
  CHECK(b.dynamic_error > 4e-3);
  // Static may clip the outlier (its weight is 0) and be fine; if it is not, FP32.
  CHECK((b.mode == InputMode::fp32 || b.static_error <= b.dynamic_error));
}

TEST_CASE("output error: zero for an input the grid represents exactly, and grows with clipping") {
  const int64_t in = 64, out = 16;
  LinearProduct p = random_product(in, out, 8);
  // Inputs on the u8 grid of [−0.5, 2.05] with z = 50, s = 0.01: exact at that range.
  const Sampled s = sample_of(in, 90, [](std::mt19937& rng, int64_t) {
    return 0.01f * float(std::uniform_int_distribution<int>(-50, 205)(rng));
  }, 9);
  const ProductErrorMeter m(p);
  const CalibratedInput exact{2.05f, true, 50};
  const double e_exact = m.error(exact, s.sample.fit);
  const double e_clipped = m.error({1.0f, true, 50}, s.sample.fit);
  const double e_symmetric = m.error({2.05f, false, 0}, s.sample.fit);
  MESSAGE("exact range " << e_exact << ", clipped " << e_clipped << ", symmetric " << e_symmetric);
  // Only the INT8 weights err: tiny, and far below clipping or half the levels wasted.
  CHECK(e_exact < 1e-3);
  CHECK(e_clipped > 10 * e_exact);
  CHECK(e_symmetric > e_exact);
}
