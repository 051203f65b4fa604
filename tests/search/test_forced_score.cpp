// forced_nll: the FP32 model is most sure of its own greedy translations (each
// token is its argmax), a 1-bit model less so, and other targets cost more.
#include <doctest/doctest.h>

#include "checkpoint/checkpoint.h"
#include "quantize/model_quantizer.h"
#include "runtime/translator.h"
#include "search/forced_score.h"
#include "tests/test_paths.h"

using namespace qtool;

TEST_CASE("forced NLL: FP32 on its own translations < a 1-bit model's, < FP32 on shifted targets") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  auto fp32 = std::make_shared<const runtime::MarianModel>(ck.weights);
  runtime::Translator tr(fp32, vocab);
  std::vector<std::vector<int>> sources;
  for (const char* l : {"the package contains the documentation", "library for reading files", "a small tool"})
    sources.push_back(tr.encode_source(l));
  runtime::TranslateOptions t;
  t.progress = false;
  const std::vector<std::vector<int>> targets = tr.translate_ids(sources, t);
  const double own = search::forced_nll(*fp32, sources, targets, 2);
  CHECK(own > 0.0);
  // Another sentence's translation as the target: far less likely.
  const std::vector<std::vector<int>> rotated = {targets[1], targets[2], targets[0]};
  CHECK(search::forced_nll(*fp32, sources, rotated, 2) > own + 0.5);
  // Batching does not change it (up to the order of float sums).
  CHECK(search::forced_nll(*fp32, sources, targets, 1) == doctest::Approx(own).epsilon(1e-5));
  // Batches on parallel streams: the same sum, bit for bit.
  CHECK(search::forced_nll(*fp32, sources, targets, 1, 1) == search::forced_nll(*fp32, sources, targets, 1, 3));

  MarianWeights w = ck.weights;
  quantize::QuantizeConfig q;
  q.has_plan = true;
  for (const char* type : quantize::kSublayerTypes) q.plan.sublayers[type] = quantize::Precision::binary(1);
  q.plan.embedding = quantize::Precision::fp32();
  quantize::quantize_model(w, q, {}, "test");
  const runtime::MarianModel one_bit(w);
  CHECK(search::forced_nll(one_bit, sources, targets, 2) > own);
}
