// Sequential GPTQ on the bundled model at 2 bits: each layer's statistics taken
// with the layers before it quantized must give logits closer to the FP32
// model's (teacher-forced on the FP32 translations) than GPTQ on the FP32
// model's statistics alone; and the codes it leaves in the cache are the ones
// quantize_model then uses.
#include <doctest/doctest.h>

#include <cmath>

#include "calibrate/input_hessians.h"
#include "checkpoint/checkpoint.h"
#include "pipeline/sequential_gptq.h"
#include "quantize/config.h"
#include "runtime/model.h"
#include "tests/pipeline/calibration_lines.h"
#include "tests/test_paths.h"

using namespace qtool;

namespace {

// Σ‖logits − reference‖² / Σ‖reference‖² over every teacher-forced step.
double logits_error(const runtime::MarianModel& q, const runtime::MarianModel& ref, const Vocabulary& vocab,
                    const std::vector<std::string>& targets) {
  double num = 0, den = 0;
  for (size_t i = 0; i < test::kCalibrationLines.size(); ++i) {
    const std::vector<std::vector<int>> src = {vocab.encode(test::kCalibrationLines[i])};
    const std::vector<int> tgt = vocab.encode_target(targets[i]);
    const runtime::EncoderOutput eq = q.encode(src), er = ref.encode(src);
    runtime::DecoderState sq = q.start_decoding(eq, {0}), sr = ref.start_decoding(er, {0});
    int token = ref.config().decoder_start_id;
    std::vector<float> lq, lr;
    for (int next : tgt) {
      q.decode_step(sq, {token}, lq);
      ref.decode_step(sr, {token}, lr);
      for (size_t k = 0; k < lr.size(); ++k) num += (lq[k] - lr[k]) * (lq[k] - lr[k]), den += lr[k] * lr[k];
      token = next;
    }
  }
  return std::sqrt(num / den);
}

}  // namespace

TEST_CASE("sequential GPTQ: closer logits than GPTQ on the FP32 model's statistics") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  runtime::MarianModel fp32(ck.weights);
  calibrate::HessianPass pass = calibrate::collect_hessians(fp32, vocab, test::kCalibrationLines, "crc32:test", false);

  const std::string cfg = R"({"version": 1, "binary_code": {"iterations": 10, "gptq": {"act_order": true}},
    "precision": {"enc_self_attn": 2, "enc_ffn": 2, "dec_self_attn": 2, "dec_cross_attn": 2, "dec_ffn": 2,
                  "embedding": "fp32", "output_projection": 2}})";
  quantize::QuantizeConfig plain = quantize::parse_quantize_config(cfg, "cfg.json");
  for (auto& [name, h] : pass.hessians.tensors)
    plain.hessians[name] = std::make_shared<const std::vector<float>>(h.values);
  quantize::QuantizeConfig seq = plain;
  seq.gptq_options.sequential = true;

  MarianWeights wp = ck.weights;
  quantize::quantize_model(wp, plain, {}, "cfg.json");
  const runtime::MarianModel mp(std::move(wp));

  quantize::QuantizeCache cache;
  pipeline::sequential_gptq(ck.weights, vocab, test::kCalibrationLines, seq, cache, "cfg.json", false);
  // Encoder layer 0's statistics stay the FP32 model's; a later layer's moved.
  const std::string first = "model.encoder.layers.0.self_attn.q_proj", later = "model.decoder.layers.2.fc1";
  CHECK(*seq.hessians.at(first) == *plain.hessians.at(first));
  CHECK(*seq.hessians.at(later) != *plain.hessians.at(later));
  const size_t cached = cache.linears.size();
  // Every layer's q, k, v, out, fc1, fc2, the decoder's cross-attention q, k, v, out, and lm_head.
  CHECK(cached == 6 * size_t(c.encoder_layers) + 10 * size_t(c.decoder_layers) + 1);

  MarianWeights ws = ck.weights;
  quantize::quantize_model(ws, seq, {}, "cfg.json", {}, &cache);
  CHECK(cache.linears.size() == cached);  // nothing was left to do
  const runtime::MarianModel ms(std::move(ws));

  const double e_plain = logits_error(mp, fp32, *vocab, pass.translations);
  const double e_seq = logits_error(ms, fp32, *vocab, pass.translations);
  CAPTURE(e_plain);
  CAPTURE(e_seq);
  CHECK(e_seq < 0.95 * e_plain);
}
