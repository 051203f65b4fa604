// The hessian pass a searched plan relies on: the same H as a full calibration
// of the same sentences, and bit-identical on a second run (quantize recomputes
// what the search used).
#include <doctest/doctest.h>

#include "calibrate/calibration.h"
#include "calibrate/input_hessians.h"
#include "checkpoint/checkpoint.h"
#include "tests/test_paths.h"

using namespace qtool;

TEST_CASE("hessian pass: equals calibrate's hessians, and repeats bit for bit") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  const std::vector<std::string> lines = {"the package contains the documentation",
                                          "this is a tool for converting files between formats",
                                          "library", "a longer line with several words to decode into something"};
  runtime::MarianModel model(ck.weights);
  const calibrate::HessianPass a = calibrate::collect_hessians(model, vocab, lines, "crc32:test", false);
  const calibrate::HessianPass b = calibrate::collect_hessians(model, vocab, lines, "crc32:test", false);
  REQUIRE(a.translations.size() == lines.size());
  CHECK(a.translations == b.translations);
  REQUIRE(a.hessians.tensors.size() == b.hessians.tensors.size());
  for (const auto& [name, h] : a.hessians.tensors) {
    CAPTURE(name);
    CHECK(h.values == b.hessians.tensors.at(name).values);
  }

  MarianWeights w = ck.weights;
  calibrate::CalibrateOptions opt;
  opt.method = calibrate::Method::max;
  opt.hessians = true;
  opt.progress = false;
  const calibrate::Calibration full = calibrate::calibrate(model, w, vocab, lines, opt, "crc32:test");
  CHECK(full.hessians.size() == a.hessians.tensors.size());
  CHECK(a.hessians.tensors.size() >= 4 * size_t(c.encoder_layers));
  for (const auto& [name, h] : full.hessians) {
    CAPTURE(name);
    REQUIRE(a.hessians.tensors.count(name) == 1);
    const calibrate::InputHessian& mine = a.hessians.tensors.at(name);
    CHECK(mine.dim == h.dim);
    CHECK(mine.rows == h.rows);
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < h.values.size(); ++i) {
      max_diff = std::max(max_diff, double(std::abs(mine.values[i] - h.values[i])));
      max_abs = std::max(max_abs, double(std::abs(h.values[i])));
    }
    CHECK(max_diff <= 1e-6 * std::max(1.0, max_abs));  // the same sums in another batching order at most
  }
}
