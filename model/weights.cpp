#include "model/weights.h"

#include "util/error.h"

namespace qtool {
namespace {

class Resolver {
 public:
  Resolver(TensorMap tensors, const std::string& file) : file_(file) {
    for (auto& [name, t] : tensors) pool_[name] = std::make_shared<const Tensor>(std::move(t));
  }

  bool has(const std::string& name) const { return pool_.count(name) != 0; }

  TensorPtr get(const std::string& name, std::vector<int64_t> shape) {
    auto it = pool_.find(name);
    if (it == pool_.end()) fail(file_, "missing tensor '" + name + "'");
    TensorPtr t = it->second;
    std::vector<int64_t> got = t->shape;
    // A leading 1 is a broadcast dimension ([1, V] final_logits_bias).
    if (got.size() == shape.size() + 1 && got[0] == 1) got.erase(got.begin());
    if (got != shape)
      fail(file_, "tensor '" + name + "' has shape " + shape_str(t->shape) + ", expected " +
                      shape_str(shape));
    return t;
  }

  TensorPtr get_or(const std::string& name, const std::string& fallback, std::vector<int64_t> shape,
                   std::string* chosen) {
    *chosen = has(name) ? name : fallback;
    return get(*chosen, std::move(shape));
  }

  LinearWeights linear(const std::string& prefix, int64_t out, int64_t in) {
    return {get(prefix + ".weight", {out, in}), get(prefix + ".bias", {out}), nullptr};
  }
  LayerNormWeights norm(const std::string& prefix, int64_t d) {
    return {get(prefix + ".weight", {d}), get(prefix + ".bias", {d})};
  }
  AttentionWeights attention(const std::string& prefix, int64_t d) {
    return {linear(prefix + ".q_proj", d, d), linear(prefix + ".k_proj", d, d),
            linear(prefix + ".v_proj", d, d), linear(prefix + ".out_proj", d, d)};
  }

 private:
  std::string file_;
  std::map<std::string, TensorPtr> pool_;
};

}  // namespace

MarianWeights resolve_marian_weights(TensorMap tensors, const ModelConfig& c,
                                     const std::string& file) {
  Resolver r(std::move(tensors), file);
  MarianWeights w;
  w.config = c;
  const int64_t d = c.d_model;
  w.encoder_embed = r.get_or("model.encoder.embed_tokens.weight", "model.shared.weight",
                             {c.vocab_size, d}, &w.encoder_embed_name);
  w.decoder_embed = r.get_or("model.decoder.embed_tokens.weight", "model.shared.weight",
                             {c.decoder_vocab_size, d}, &w.decoder_embed_name);
  if (r.has("lm_head.weight")) {
    w.output_projection_name = "lm_head.weight";
    w.output_projection = r.get("lm_head.weight", {c.decoder_vocab_size, d});
  } else if (c.tie_word_embeddings) {
    w.output_projection_name = w.decoder_embed_name;
    w.output_projection = w.decoder_embed;
  } else {
    fail(file, "missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
  }
  if (r.has("final_logits_bias")) {
    w.final_logits_bias = r.get("final_logits_bias", {c.decoder_vocab_size});
  } else {
    auto zeros = std::make_shared<Tensor>();
    zeros->shape = {c.decoder_vocab_size};
    zeros->data.assign(c.decoder_vocab_size, 0.0f);
    w.final_logits_bias = zeros;
  }
  for (int i = 0; i < c.encoder_layers; ++i) {
    const std::string p = "model.encoder.layers." + std::to_string(i);
    w.encoder.push_back({r.attention(p + ".self_attn", d), r.norm(p + ".self_attn_layer_norm", d),
                         r.linear(p + ".fc1", c.encoder_ffn_dim, d),
                         r.linear(p + ".fc2", d, c.encoder_ffn_dim),
                         r.norm(p + ".final_layer_norm", d)});
  }
  for (int i = 0; i < c.decoder_layers; ++i) {
    const std::string p = "model.decoder.layers." + std::to_string(i);
    w.decoder.push_back({r.attention(p + ".self_attn", d), r.norm(p + ".self_attn_layer_norm", d),
                         r.attention(p + ".encoder_attn", d),
                         r.norm(p + ".encoder_attn_layer_norm", d),
                         r.linear(p + ".fc1", c.decoder_ffn_dim, d),
                         r.linear(p + ".fc2", d, c.decoder_ffn_dim),
                         r.norm(p + ".final_layer_norm", d)});
  }
  if (c.normalize_before) {
    if (r.has("model.encoder.layer_norm.weight"))
      w.encoder_final_norm = r.norm("model.encoder.layer_norm", d);
    if (r.has("model.decoder.layer_norm.weight"))
      w.decoder_final_norm = r.norm("model.decoder.layer_norm", d);
  }
  return w;
}

}  // namespace qtool
