// Block reconstruction on the bundled model: the rows the paired pass keeps are
// real pairs (with the FP32 model on both sides, every target row is the FP32
// sub-layer applied to its input row, encoder padding left out), and fitting a
// 2-bit model's feed-forward sub-layers lowers each one's held-out error.
#include <doctest/doctest.h>

#include <cmath>

#include "calibrate/paired_pass.h"
#include "checkpoint/checkpoint.h"
#include "pipeline/block_reconstruction.h"
#include "quantize/config.h"
#include "quantize/model_quantizer.h"
#include "runtime/model.h"
#include "tests/pipeline/calibration_lines.h"
#include "tests/test_paths.h"
#include "util/half.h"

using namespace qtool;

TEST_CASE("block pairs: the FP32 model against itself gives target = sub-layer(input), only real tokens") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  auto fp32 = std::make_shared<runtime::MarianModel>(ck.weights);
  runtime::MarianModel twin(ck.weights);
  const pipeline::TeacherTokens t = pipeline::teacher_tokens(fp32, vocab, test::kCalibrationLines);
  int64_t source_tokens = 0, target_tokens = 0;
  for (const auto& s : t.sources) source_tokens += int64_t(s.size());
  for (const auto& s : t.targets) target_tokens += int64_t(s.size()) + 1;

  const auto pairs = calibrate::collect_ffn_block_pairs(twin, *fp32, t.sources, t.targets, 4, 1 << 20);
  CHECK(pairs.size() == size_t(c.encoder_layers + c.decoder_layers) + 1);
  // The output projection's input: the same model on both sides, the same rows.
  const calibrate::BlockRows& out = pairs.at("lm_head");
  CHECK(out.rows == target_tokens);
  CHECK(out.in == out.target);
  for (const auto& [name, rows] : pairs) {
    CAPTURE(name);
    if (name == "lm_head") continue;
    const bool enc = name.rfind("model.encoder.", 0) == 0;
    CHECK(rows.rows == (enc ? source_tokens : target_tokens));  // every token once, no padding
    const int l = std::stoi(name.substr(std::string(enc ? "model.encoder.layers." : "model.decoder.layers.").size()));
    const MarianWeights& w = ck.weights;
    const quantize::FfnBlock b = enc ? quantize::FfnBlock{w.encoder[l].fc1, w.encoder[l].fc2, w.encoder[l].ffn_norm,
                                                          c.activation, c.normalize_before}
                                     : quantize::FfnBlock{w.decoder[l].fc1, w.decoder[l].fc2, w.decoder[l].ffn_norm,
                                                          c.activation, c.normalize_before};
    std::vector<float> y(rows.target.size());
    quantize::ffn_block_forward(b, rows.in.data(), rows.rows, y.data());
    double e = 0, n = 0;
    for (size_t i = 0; i < y.size(); ++i) e += std::pow(y[i] - rows.target[i], 2), n += std::pow(rows.target[i], 2);
    CHECK(std::sqrt(e / n) < 1e-4);
  }
  // A row cap keeps every k-th token.
  const auto capped = calibrate::collect_ffn_block_pairs(twin, *fp32, t.sources, t.targets, 4, 10);
  for (const auto& [name, rows] : capped) {
    CHECK(rows.rows <= 10);
    CHECK(rows.rows > 5);  // ⌈n / k⌉ rows for k = ⌈n / 10⌉
  }
}

TEST_CASE("block reconstruction of a 2-bit model lowers every fitted sub-layer's error") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  const quantize::QuantizeConfig qc = quantize::parse_quantize_config(
      R"({"version": 1, "binary_code": {"iterations": 10, "reconstruction": {"iterations": 40, "rows": 512}},
          "precision": {"enc_self_attn": 2, "enc_ffn": 2, "dec_self_attn": 2, "dec_cross_attn": 2, "dec_ffn": 2,
                        "embedding": "fp32", "output_projection": "int8", "layers": {"decoder.1.ffn": "int8"}},
          "vectors": "fp16"})",
      "cfg.json");
  REQUIRE(qc.reconstruction);
  MarianWeights q = ck.weights;
  quantize::quantize_model(q, qc, {}, "cfg.json");
  const auto before = q.decoder[0].fc1.binary;
  const auto reports = pipeline::reconstruct_blocks(ck.weights, q, vocab, test::kCalibrationLines, qc.reconstruction_options, true, false);
  // Decoder layer 1's sub-layer is INT8: not fitted; nor is the INT8 output projection.
  CHECK(reports.size() == size_t(c.encoder_layers + c.decoder_layers - 1));
  for (const pipeline::BlockReport& r : reports) {
    CHECK(r.name != "lm_head");
    CAPTURE(r.name);
    CHECK(r.name != "model.decoder.layers.1.fc1");
    CHECK(r.result.error < r.result.start_error);
  }
  CHECK(q.decoder[0].fc1.binary != before);
  CHECK(q.decoder[0].fc1.binary->planes == before->planes);
  // The fitted vectors are halves, as the .qtm will store them.
  for (float v : q.decoder[0].ffn_norm.gamma->data) CHECK(round_to_half(v) == v);
}

TEST_CASE("output reconstruction of a tied 2-bit embedding: every role takes the fitted table") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  const quantize::QuantizeConfig qc = quantize::parse_quantize_config(
      R"({"version": 1, "binary_code": {"reconstruction": {"iterations": 30, "ffn": false}},
          "precision": {"enc_self_attn": "fp32", "enc_ffn": "fp32", "dec_self_attn": "fp32", "dec_cross_attn": "fp32",
                        "dec_ffn": "fp32", "embedding": 2, "output_projection": "embedding"}})",
      "cfg.json");
  MarianWeights q = ck.weights;
  quantize::quantize_model(q, qc, {}, "cfg.json");
  REQUIRE(q.output.clustered);
  const auto before = q.output.clustered;
  const bool shared_encoder = q.encoder_embed_binary == before;
  const auto reports = pipeline::reconstruct_blocks(ck.weights, q, vocab, test::kCalibrationLines, qc.reconstruction_options, false, false);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].name == "lm_head");
  CHECK(reports[0].result.error < reports[0].result.start_error);
  CHECK(q.output.clustered != before);
  CHECK(q.decoder_embed_binary == q.output.clustered);
  CHECK((q.encoder_embed_binary == q.output.clustered) == shared_encoder);
}
