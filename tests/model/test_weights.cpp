// Tensor resolution as Hugging Face does it, on small synthetic checkpoints.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "model/weights.h"
#include "util/error.h"

using namespace qtool;

namespace {

ModelConfig small_config(bool tie = true) {
  nlohmann::json j = {{"model_type", "marian"}, {"d_model", 4}, {"encoder_layers", 1},
                      {"decoder_layers", 2}, {"encoder_attention_heads", 2},
                      {"decoder_attention_heads", 1}, {"encoder_ffn_dim", 8},
                      {"decoder_ffn_dim", 6}, {"vocab_size", 10}, {"pad_token_id", 9},
                      {"eos_token_id", 0}, {"tie_word_embeddings", tie}};
  return parse_model_config(j.dump(), "config.json");
}

Tensor filled(std::vector<int64_t> shape, float v) {
  Tensor t;
  t.shape = shape;
  t.data.assign(t.numel(), v);
  return t;
}

void add_linear(TensorMap& m, const std::string& p, int64_t out, int64_t in) {
  m[p + ".weight"] = filled({out, in}, 0.1f);
  m[p + ".bias"] = filled({out}, 0.0f);
}
void add_norm(TensorMap& m, const std::string& p, int64_t d) {
  m[p + ".weight"] = filled({d}, 1.0f);
  m[p + ".bias"] = filled({d}, 0.0f);
}
void add_attention(TensorMap& m, const std::string& p) {
  for (const char* n : {"q_proj", "k_proj", "v_proj", "out_proj"}) add_linear(m, p + "." + n, 4, 4);
}

TensorMap layers_only() {
  TensorMap m;
  add_attention(m, "model.encoder.layers.0.self_attn");
  add_norm(m, "model.encoder.layers.0.self_attn_layer_norm", 4);
  add_linear(m, "model.encoder.layers.0.fc1", 8, 4);
  add_linear(m, "model.encoder.layers.0.fc2", 4, 8);
  add_norm(m, "model.encoder.layers.0.final_layer_norm", 4);
  for (int i = 0; i < 2; ++i) {
    const std::string p = "model.decoder.layers." + std::to_string(i);
    add_attention(m, p + ".self_attn");
    add_norm(m, p + ".self_attn_layer_norm", 4);
    add_attention(m, p + ".encoder_attn");
    add_norm(m, p + ".encoder_attn_layer_norm", 4);
    add_linear(m, p + ".fc1", 6, 4);
    add_linear(m, p + ".fc2", 4, 6);
    add_norm(m, p + ".final_layer_norm", 4);
  }
  return m;
}

std::string error_of(TensorMap m, const ModelConfig& c) {
  try {
    resolve_marian_weights(std::move(m), c, "model.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("weights: only model.shared.weight → everything tied to it") {
  TensorMap m = layers_only();
  m["model.shared.weight"] = filled({10, 4}, 1.0f);
  MarianWeights w = resolve_marian_weights(std::move(m), small_config(), "x");
  CHECK(w.encoder_embed_name == "model.shared.weight");
  CHECK(w.decoder_embed_name == "model.shared.weight");
  CHECK(w.output.weight.get() == w.decoder_embed.get());
  CHECK(w.output.bias->data == std::vector<float>(10, 0.0f));  // absent → zeros
  CHECK(w.decoder.size() == 2);
}

TEST_CASE("weights: each module's own tensor wins over model.shared.weight") {
  TensorMap m = layers_only();
  m["model.shared.weight"] = filled({10, 4}, 1.0f);
  m["model.encoder.embed_tokens.weight"] = filled({10, 4}, 2.0f);
  m["model.decoder.embed_tokens.weight"] = filled({10, 4}, 3.0f);
  m["lm_head.weight"] = filled({10, 4}, 4.0f);
  m["final_logits_bias"] = filled({1, 10}, 0.5f);
  MarianWeights w = resolve_marian_weights(std::move(m), small_config(false), "x");
  CHECK(w.encoder_embed->data[0] == 2.0f);
  CHECK(w.decoder_embed->data[0] == 3.0f);
  CHECK(w.output.weight->data[0] == 4.0f);
  CHECK(w.output.bias->data[3] == 0.5f);
}

TEST_CASE("weights: decoder embedding without lm_head → tied output projection") {
  TensorMap m = layers_only();
  m["model.encoder.embed_tokens.weight"] = filled({10, 4}, 2.0f);
  m["model.decoder.embed_tokens.weight"] = filled({10, 4}, 3.0f);
  MarianWeights w = resolve_marian_weights(std::move(m), small_config(true), "x");
  CHECK(w.output.weight->data[0] == 3.0f);
}

TEST_CASE("weights: missing or misshaped tensors are refused by name") {
  TensorMap m = layers_only();
  CHECK(error_of(m, small_config()) == "model.safetensors: missing tensor 'model.shared.weight'");
  m["model.shared.weight"] = filled({10, 4}, 1.0f);
  CHECK(error_of(m, small_config(false)) ==
        "model.safetensors: missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
  TensorMap bad = m;
  bad["model.encoder.layers.0.fc1.weight"] = filled({4, 8}, 0.0f);
  CHECK(error_of(bad, small_config()) ==
        "model.safetensors: tensor 'model.encoder.layers.0.fc1.weight' has shape [4, 8], expected [8, 4]");
  bad = m;
  bad.erase("model.decoder.layers.1.encoder_attn.v_proj.bias");
  CHECK(error_of(bad, small_config()) ==
        "model.safetensors: missing tensor 'model.decoder.layers.1.encoder_attn.v_proj.bias'");
}
