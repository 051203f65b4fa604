// Histograms and thresholds against hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "calibrate/calibration.h"
#include "calibrate/histogram.h"
#include "calibrate/thresholds.h"
#include "util/error.h"

using namespace qtool;
using namespace qtool::calibrate;

namespace {
Histogram from(std::vector<float> xs, int bins) {
  Histogram h(bins);
  h.add(xs.data(), static_cast<int64_t>(xs.size()));
  return h;
}
}  // namespace

TEST_CASE("histogram: range grows by doubling without losing or moving counts") {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> small(-1, 1), big(-7, 7);
  std::vector<float> a(1000), b(500);
  for (float& x : a) x = small(rng);
  for (float& x : b) x = big(rng);
  Histogram h1 = from(a, 64), h2 = from(b, 64);
  CHECK(h1.range() == 1.0);   // smallest power of two above max|a| (< 1)
  CHECK(h2.range() == 8.0);
  Histogram grown = h1;
  grown.add(b.data(), 500);   // grows 1 → 8 while holding a's counts
  std::vector<float> all = a;
  all.insert(all.end(), b.begin(), b.end());
  Histogram direct = from(all, 64);
  CHECK(grown.counts() == direct.counts());
  h1.merge(h2);
  CHECK(h1.counts() == direct.counts());
  CHECK(h1.total() == 1500);
  CHECK(h1.max_abs() == direct.max_abs());
}

TEST_CASE("KL threshold on a hand-computed histogram") {
  // |x| counts [4, 2, 0, 1] over bins of width 1 (range 4), 2 levels:
  //  cut 2: P = [4, 3]/7, Q = [4, 2]/6 → KL = 4/7·ln(6/7) + 3/7·ln(9/7) ≈ 0.0196
  //  cut 3: P has mass in bin 2 where Q has none → rejected
  //  cut 4: P = [4, 2, 0, 1]/7, Q = [3, 3, 0, 1]/7 → KL ≈ 0.0485
  // The least is cut 2: T = (2 + 0.5) · 1.
  Histogram h = from({0.5f, 0.5f, 0.5f, 0.5f, 1.5f, 1.5f, 3.5f}, 4);
  REQUIRE(h.counts() == std::vector<int64_t>{4, 2, 0, 1});
  CHECK(kl_threshold(h, 2) == doctest::Approx(2.5));
  CHECK(threshold(h, Method::max) == doctest::Approx(3.5));
  // 6 of 7 values lie below 2 (bin 1's upper edge): the 80th percentile is 2.
  CHECK(percentile_threshold(h, 80.0) == doctest::Approx(2.0));
  CHECK(percentile_threshold(h, 100.0) == doctest::Approx(3.5));  // capped at the max seen
}

TEST_CASE("KL threshold clips a long tail, max does not") {
  std::mt19937 rng(2);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> xs(200000);
  for (float& x : xs) x = g(rng);
  xs[0] = 40.0f;  // one outlier
  Histogram h = from(xs, 2048);
  const double t = kl_threshold(h);
  CHECK(t < 10.0);
  CHECK(t > 2.0);
  // MSE weighs the outlier's squared clipping error against everyone's rounding
  // error: minimising N·T²/(12·127²) + (40 − T)² gives T = 80 / (N/96774 + 2) ≈ 19.67
  // (the Gaussian's own tail past T is negligible), within a bin (64/2048).
  CHECK(std::fabs(mse_threshold(h) - 80.0 / (200000.0 / 96774.0 + 2.0)) < 64.0 / 2048);
  CHECK(threshold(h, Method::max) == doctest::Approx(40.0));
}

TEST_CASE("calibration file: round trip and refusals") {
  Calibration c;
  c.model_checksum = "crc32:0badf00d";
  c.tensors["model.encoder.layers.0.fc1"] = {1.5, 2.0, 0.3, 100};
  Calibration r = parse_calibration(to_json(c), "c.json");
  CHECK(r.model_checksum == c.model_checksum);
  CHECK(r.tensors.at("model.encoder.layers.0.fc1").threshold == 1.5);
  CHECK_THROWS_WITH_AS(parse_calibration("{}", "c.json"), "c.json: missing field 'format'", Error);
  CHECK_THROWS_WITH_AS(parse_calibration(R"({"format":"qtool-calibration","version":3})", "c.json"),
                       doctest::Contains("version: 3 is not supported"), Error);
  std::string bad = to_json(c);
  bad.replace(bad.find("1.5"), 3, "-1.0");
  CHECK_THROWS_WITH_AS(parse_calibration(bad, "c.json"),
                       doctest::Contains("tensors.model.encoder.layers.0.fc1.threshold: -1.0 is not a positive"), Error);
  // A threshold past the float range would become inf (found by fuzz_calibration).
  bad = to_json(c);
  bad.replace(bad.find("1.5"), 3, "1e39");
  CHECK_THROWS_WITH_AS(parse_calibration(bad, "c.json"), doctest::Contains("is not a positive number in [1e-30, 1e30]"), Error);
}

TEST_CASE("KL on a one-sided ReLU-like input leaves the exact zeros out") {
  // 90% exact zeros and a half-normal tail: kept in, the zero spike makes KL
  // clip the tail hard; left out (one-sided inputs), the cut covers the tail.
  std::mt19937 rng(4);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> xs(200000, 0.0f);
  for (size_t i = 0; i < xs.size(); i += 10) xs[i] = std::fabs(g(rng));
  Histogram h = from(xs, 2048);
  const double with_zeros = kl_threshold(h, 256, false), without = kl_threshold(h, 256, true);
  MESSAGE("KL threshold with the zero bin " << with_zeros << ", without " << without << ", max " << h.max_abs());
  CHECK(without > with_zeros);
  CHECK(threshold(h, Method::kl, 99.99, /*one_sided=*/true) == doctest::Approx(without));
}

TEST_CASE("calibration file: malformed files are refused naming the file and the field") {
  Calibration c;
  c.model_checksum = "crc32:0badf00d";
  c.tensors["model.encoder.layers.0.fc1"] = {1.5, 2.0, 0.3, 100};
  c.tensors["model.encoder.layers.0.fc1"].column_mean_square = {0.5f, 0.25f};
  c.tensors["model.encoder.layers.0.fc2"] = {2.5, 2.5, 0.3, -0.125};
  TensorStats& fc2 = c.tensors["model.encoder.layers.0.fc2"];
  fc2.asymmetric = true, fc2.zero_point = 12, fc2.chosen_by = "grid", fc2.clipped_fraction = 0.001;
  fc2.static_error = 0.0003, fc2.dynamic_error = 0.0002, fc2.int8_input = InputMode::dynamic;
  const std::string good = to_json(c);
  const Calibration back = parse_calibration(good, "c.json");  // the new fields round-trip
  const TensorStats& b = back.tensors.at("model.encoder.layers.0.fc2");
  CHECK(b.asymmetric);
  CHECK(b.zero_point == 12);
  CHECK(b.chosen_by == "grid");
  CHECK(b.static_error == 0.0003);
  CHECK(b.int8_input == InputMode::dynamic);
  CHECK(back.inputs(/*fallbacks=*/true).count("model.encoder.layers.0.fc2") == 0);
  CHECK(back.inputs().at("model.encoder.layers.0.fc2").zero_point == 12);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  const std::string fc1 = "tensors.model.encoder.layers.0.fc1";
  struct Case {
    const char* name;
    std::string text, expect;  // expect: after "c.json: "
  };
  const std::vector<Case> cases = {
      {"NaN threshold (not JSON)", with("\"threshold\": 1.5", "\"threshold\": NaN"), "not valid JSON"},
      {"infinite threshold", with("\"threshold\": 1.5", "\"threshold\": 1e999"), "not valid JSON: [json.exception.out_of_range.406] number overflow parsing '1e999'"},
      {"threshold past 1e30", with("\"threshold\": 1.5", "\"threshold\": 1e39"), fc1 + ".threshold: 1e+39 is not a positive number in [1e-30, 1e30]"},
      {"threshold 0", with("\"threshold\": 1.5", "\"threshold\": 0"), fc1 + ".threshold: 0 is not a positive number in [1e-30, 1e30]"},
      {"threshold null", with("\"threshold\": 1.5", "\"threshold\": null"), fc1 + ".threshold: missing or not a number"},
      {"threshold a string", with("\"threshold\": 1.5", "\"threshold\": \"1.5\""), fc1 + ".threshold: missing or not a number"},
      {"wrong format", with("qtool-calibration", "qtool-counts"), "format: must be \"qtool-calibration\""},
      {"wrong version", with("\"version\": 2", "\"version\": 7"), "version: 7 is not supported"},
      {"unknown method", with("\"method\": \"kl\"", "\"method\": \"median\""), "method: "},
      {"zero point 255", with("\"zero_point\": 12", "\"zero_point\": 255"), "tensors.model.encoder.layers.0.fc2.zero_point: 255 is not an integer in 0..254"},
      {"zero point negative", with("\"zero_point\": 12", "\"zero_point\": -3"), "tensors.model.encoder.layers.0.fc2.zero_point: -3 is not an integer in 0..254"},
      {"zero point fractional", with("\"zero_point\": 12", "\"zero_point\": 12.5"), "tensors.model.encoder.layers.0.fc2.zero_point: 12.5 is not an integer"},
      {"unknown int8_input", with("\"int8_input\": \"dynamic\"", "\"int8_input\": \"int4\""), "tensors.model.encoder.layers.0.fc2.int8_input: 'int4' is not one of static, dynamic, fp32"},
      {"negative output error", with("\"static\": 0.0003", "\"static\": -1"), "tensors.model.encoder.layers.0.fc2.output_error.static: missing or not a finite number >= 0"},
      {"clipped fraction past 1", with("\"clipped_fraction\": 0.001", "\"clipped_fraction\": 2"), "tensors.model.encoder.layers.0.fc2.clipped_fraction: 2 is not a number in [0, 1]"},
      {"checksum not a string", with("\"model_checksum\": \"crc32:0badf00d\"", "\"model_checksum\": 12"), "model_checksum: must be a string"},
      {"one_sided not a bool", with("\"one_sided\": false", "\"one_sided\": 0"), fc1 + ".one_sided: must be true or false"},
      {"negative mean square", with("0.25", "-0.25"), fc1 + ".column_mean_square[1]: -0.25 is not a finite number >= 0"},
      {"null mean square", with("0.25", "null"), fc1 + ".column_mean_square[1]: null is not a finite number >= 0"},
      {"no tensors", with("\"tensors\": {", "\"tensors\": {}, \"x\": {"), "tensors: must be a non-empty object"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    std::string e = "(accepted)";
    try {
      parse_calibration(k.text, "c.json");
    } catch (const Error& err) {
      e = err.what();
    }
    CAPTURE(e);
    CHECK(e.rfind("c.json: " + k.expect, 0) == 0);
    CHECK(e.find('\n') == std::string::npos);
  }
}
