#include "model/weights.h"

#include "util/error.h"

namespace qtool {
namespace {

class Resolver {
 public:
  Resolver(TensorMap tensors, QuantizedTensors q, const std::string& file)
      : file_(file), binary_(std::move(q.binary)), clustered_(std::move(q.clustered)) {
    for (auto& [name, t] : tensors) pool_[name] = std::make_shared<const Tensor>(std::move(t));
    for (auto& [name, t] : q.int8) int8_[name] = std::make_shared<const Int8Tensor>(std::move(t));
  }

  template <class T>
  std::shared_ptr<const T> get_quantized(const std::map<std::string, std::shared_ptr<const T>>& pool,
                                         const std::string& name, int64_t rows, int64_t cols) {
    auto it = pool.find(name);
    if (it == pool.end()) return nullptr;
    if (it->second->rows != rows || it->second->cols != cols)
      fail(file_, "tensor '" + name + "' has shape " + shape_str({it->second->rows, it->second->cols}) +
                      ", expected " + shape_str({rows, cols}));
    return it->second;
  }
  std::shared_ptr<const BinaryCodeTensor> get_binary(const std::string& name, int64_t rows, int64_t cols) {
    return get_quantized(binary_, name, rows, cols);
  }
  std::shared_ptr<const ClusteredBinaryEmbedding> get_clustered(const std::string& name, int64_t rows, int64_t cols) {
    return get_quantized(clustered_, name, rows, cols);
  }

  std::shared_ptr<const Int8Tensor> get_int8(const std::string& name, int64_t rows, int64_t cols) {
    auto it = int8_.find(name);
    if (it == int8_.end()) return nullptr;
    if (it->second->rows != rows || it->second->cols != cols)
      fail(file_, "tensor '" + name + "' has shape " + shape_str({it->second->rows, it->second->cols}) +
                      ", expected " + shape_str({rows, cols}));
    return it->second;
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
    LinearWeights l;
    l.bias = get(prefix + ".bias", {out});
    if (auto q = get_int8(prefix + ".weight", out, in)) l.int8 = q;
    else if (auto b = get_binary(prefix + ".weight", out, in)) l.binary = b;
    else l.weight = get(prefix + ".weight", {out, in});
    return l;
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
  std::map<std::string, std::shared_ptr<const Int8Tensor>> int8_;
  std::map<std::string, std::shared_ptr<const BinaryCodeTensor>> binary_;
  std::map<std::string, std::shared_ptr<const ClusteredBinaryEmbedding>> clustered_;
};

}  // namespace

MarianWeights resolve_marian_weights(TensorMap tensors, const ModelConfig& c,
                                     const std::string& file, QuantizedTensors quantized) {
  Resolver r(std::move(tensors), std::move(quantized), file);
  MarianWeights w;
  w.config = c;
  const int64_t d = c.d_model;
  // A packed model may hold an embedding as INT8 or clustered binary code under the same name.
  auto embedding = [&](const std::string& own, int64_t rows, TensorPtr* fp32,
                       std::shared_ptr<const Int8Tensor>* int8,
                       std::shared_ptr<const ClusteredBinaryEmbedding>* binary, std::string* chosen) {
    for (const std::string& name : {own, std::string("model.shared.weight")}) {
      if (auto q = r.get_int8(name, rows, d)) {
        *int8 = q;
        *chosen = name;
        return;
      }
      if (auto q = r.get_clustered(name, rows, d)) {
        *binary = q;
        *chosen = name;
        return;
      }
    }
    *fp32 = r.get_or(own, "model.shared.weight", {rows, d}, chosen);
  };
  embedding("model.encoder.embed_tokens.weight", c.vocab_size, &w.encoder_embed, &w.encoder_embed_int8,
            &w.encoder_embed_binary, &w.encoder_embed_name);
  embedding("model.decoder.embed_tokens.weight", c.decoder_vocab_size, &w.decoder_embed,
            &w.decoder_embed_int8, &w.decoder_embed_binary, &w.decoder_embed_name);
  const bool shared_output = !r.has("lm_head.weight") && c.tie_word_embeddings;
  w.output.int8 = r.get_int8("lm_head.weight", c.decoder_vocab_size, d);
  w.output.binary = r.get_binary("lm_head.weight", c.decoder_vocab_size, d);
  w.output.clustered = r.get_clustered("lm_head.weight", c.decoder_vocab_size, d);
  if (!w.output.quantized() && w.decoder_embed_int8 && shared_output) {
    w.output_projection_name = w.decoder_embed_name + " (int8, shared)";
    w.output.int8 = w.decoder_embed_int8;
  } else if (!w.output.quantized() && w.decoder_embed_binary && shared_output) {
    w.output_projection_name = w.decoder_embed_name + " (binary code, shared)";
    w.output.clustered = w.decoder_embed_binary;
  } else if (w.output.quantized()) {
    w.output_projection_name = std::string("lm_head.weight (") + qtype_name(w.output.qtype()) + ")";
    if (shared_output) w.output.weight = w.decoder_embed;
  } else if (r.has("lm_head.weight")) {
    w.output_projection_name = "lm_head.weight";
    w.output.weight = r.get("lm_head.weight", {c.decoder_vocab_size, d});
  } else if (c.tie_word_embeddings) {
    w.output_projection_name = w.decoder_embed_name;
    w.output.weight = w.decoder_embed;
  } else {
    fail(file, "missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
  }
  if (r.has("final_logits_bias")) {
    w.output.bias = r.get("final_logits_bias", {c.decoder_vocab_size});
  } else {
    auto zeros = std::make_shared<Tensor>();
    zeros->shape = {c.decoder_vocab_size};
    zeros->data.assign(c.decoder_vocab_size, 0.0f);
    w.output.bias = zeros;
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

namespace qtool {

std::vector<NamedLinear> linear_layers(MarianWeights& w) {
  std::vector<NamedLinear> out;
  auto attention = [&](const std::string& p, AttentionWeights& a) {
    out.push_back({p + ".q_proj", &a.q});
    out.push_back({p + ".k_proj", &a.k});
    out.push_back({p + ".v_proj", &a.v});
    out.push_back({p + ".out_proj", &a.out});
  };
  for (size_t i = 0; i < w.encoder.size(); ++i) {
    const std::string p = "model.encoder.layers." + std::to_string(i);
    attention(p + ".self_attn", w.encoder[i].self_attn);
    out.push_back({p + ".fc1", &w.encoder[i].fc1});
    out.push_back({p + ".fc2", &w.encoder[i].fc2});
  }
  for (size_t i = 0; i < w.decoder.size(); ++i) {
    const std::string p = "model.decoder.layers." + std::to_string(i);
    attention(p + ".self_attn", w.decoder[i].self_attn);
    attention(p + ".encoder_attn", w.decoder[i].cross_attn);
    out.push_back({p + ".fc1", &w.decoder[i].fc1});
    out.push_back({p + ".fc2", &w.decoder[i].fc2});
  }
  out.push_back({"lm_head", &w.output});
  return out;
}

std::string linear_input_name(const std::string& name) {
  auto ends = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  const std::string stem = name.substr(0, name.rfind('.') + 1);
  if (ends(".self_attn.k_proj") || ends(".self_attn.v_proj")) return stem + "q_proj";
  if (ends(".encoder_attn.v_proj")) return stem + "k_proj";
  return name;
}

std::vector<LinearProduct> linear_products(MarianWeights& w) {
  std::vector<LinearProduct> out;
  for (const NamedLinear& l : linear_layers(w)) {
    const std::string input = linear_input_name(l.name);
    if (out.empty() || out.back().name != input) {
      out.push_back({input, {}, std::nullopt});
      const bool fc1 = input.size() > 4 && input.compare(input.size() - 4, 4, ".fc1") == 0;
      if (fc1) out.back().activation = w.config.activation;
    }
    out.back().parts.push_back(*l.weights);
  }
  return out;
}

std::vector<std::pair<std::string, LayerNormWeights*>> layer_norms(MarianWeights& w) {
  std::vector<std::pair<std::string, LayerNormWeights*>> out;
  for (size_t i = 0; i < w.encoder.size(); ++i) {
    const std::string p = "model.encoder.layers." + std::to_string(i);
    out.push_back({p + ".self_attn_layer_norm", &w.encoder[i].self_attn_norm});
    out.push_back({p + ".final_layer_norm", &w.encoder[i].ffn_norm});
  }
  for (size_t i = 0; i < w.decoder.size(); ++i) {
    const std::string p = "model.decoder.layers." + std::to_string(i);
    out.push_back({p + ".self_attn_layer_norm", &w.decoder[i].self_attn_norm});
    out.push_back({p + ".encoder_attn_layer_norm", &w.decoder[i].cross_attn_norm});
    out.push_back({p + ".final_layer_norm", &w.decoder[i].ffn_norm});
  }
  if (w.encoder_final_norm.gamma) out.push_back({"model.encoder.layer_norm", &w.encoder_final_norm});
  if (w.decoder_final_norm.gamma) out.push_back({"model.decoder.layer_norm", &w.decoder_final_norm});
  return out;
}

}  // namespace qtool
