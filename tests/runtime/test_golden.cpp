// The FP32 runtime against Hugging Face transformers' own tensors (golden.h5):
// the tokenizer's ids, the encoder output, and the logits under teacher forcing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "runtime/model.h"
#include "tests/h5_test_util.h"
#include "tests/test_paths.h"

using namespace qtool;

namespace {

void check_golden(const std::string& model_dir) {
  const std::string golden = model_dir + "/reference/golden.h5";
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(model_dir);
  const ModelConfig c = ck.weights.config;
  Vocabulary vocab(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  // Built from the weights it consumes, as the loaders do: every tensor the
  // layers copied is let go, a tied embedding too (it reads the output
  // projection's Wᵀ); an untied embedding is kept and used in place.
  const MarianWeights& w = ck.weights;
  const std::vector<std::weak_ptr<const Tensor>> copied = {
      w.output.weight, w.output.bias, w.encoder[0].fc1.weight, w.decoder.back().cross_attn.v.weight,
      w.decoder[0].ffn_norm.gamma};
  const std::weak_ptr<const Tensor> encoder_embed = w.encoder_embed, decoder_embed = w.decoder_embed;
  const bool encoder_tied = w.encoder_embed == w.output.weight, decoder_tied = w.decoder_embed == w.output.weight;
  {
    runtime::MarianModel kept(ck.weights);  // the caller's weights stay
    for (const auto& t : copied) CHECK_FALSE(t.expired());
  }
  runtime::MarianModel model(std::move(ck.weights));
  for (const auto& t : copied) CHECK(t.expired());
  CHECK(encoder_embed.expired() == encoder_tied);
  CHECK(decoder_embed.expired() == decoder_tied);
  for (int s = 0; s < 4; ++s) {
    const std::string g = "/s" + std::to_string(s);
    CAPTURE(model_dir);
    CAPTURE(s);
    auto ids = test::h5_read(golden, g + "/input_ids");
    std::vector<int> src(ids.values.begin(), ids.values.end());
    // The tokenizer gives the same ids as MarianTokenizer did.
    CHECK(vocab.encode(test::h5_read_string(golden, g + "/source_text")) == src);

    runtime::EncoderOutput enc = model.encode({src});
    auto ref_enc = test::h5_read(golden, g + "/encoder_output");
    REQUIRE(ref_enc.values.size() == enc.hidden.size());
    double enc_diff = 0;
    for (size_t i = 0; i < enc.hidden.size(); ++i)
      enc_diff = std::max(enc_diff, std::abs(enc.hidden[i] - ref_enc.values[i]));
    CHECK(enc_diff < 1e-3);

    auto dec_ids = test::h5_read(golden, g + "/decoder_input_ids");
    auto ref_logits = test::h5_read(golden, g + "/logits");
    const size_t V = c.decoder_vocab_size;
    REQUIRE(ref_logits.values.size() == dec_ids.values.size() * V);
    runtime::DecoderState st = model.start_decoding(enc, {0});
    std::vector<float> logits;
    double logit_diff = 0;
    for (size_t t = 0; t < dec_ids.values.size(); ++t) {
      model.decode_step(st, {static_cast<int>(dec_ids.values[t])}, logits);
      for (size_t v = 0; v < V; ++v)
        logit_diff = std::max(logit_diff, std::abs(logits[v] - ref_logits.values[t * V + v]));
    }
    CHECK(logit_diff < 2e-3);
    MESSAGE("s" << s << ": encoder max diff " << enc_diff << ", logits max diff " << logit_diff);
  }
}

}  // namespace

TEST_CASE("golden tensors: bundled tiny model") { check_golden(test::bundled_model()); }

TEST_CASE("golden tensors: kit models") {
  if (!test::have_shared()) {
    MESSAGE("../shared not present; kit golden tests skipped");
    return;
  }
  for (const char* m : {"ddtp-en-de-small", "ddtp-en-de-opus-tiny"})
    check_golden(test::shared_dir() + "/models/" + m);
}
