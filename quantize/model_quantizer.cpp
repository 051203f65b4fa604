#include "quantize/model_quantizer.h"

#include <cmath>
#include <map>
#include <set>

#include "quantize/bias_correction.h"
#include "quantize/frequency_clusters.h"
#include "quantize/token_counts.h"
#include "util/error.h"
#include "util/half.h"

namespace qtool::quantize {
namespace {

double int8_error(const Tensor& w, const Int8Tensor& q) {
  double num = 0, den = 0;
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) {
      const double v = w.data[r * q.cols + c], d = v - double(q.scale(r)) * q.values[r * q.cols + c];
      num += d * d, den += v * v;
    }
  return den > 0 ? std::sqrt(num / den) : 0.0;
}

// The column weights h^a of a product's input (by calibration name), or empty
// when the calibration has none; refused when its length is not `cols`.
std::vector<float> column_weights_for(const std::string& calib_name, int64_t cols, const QuantizeConfig& c,
                                      const std::string& file) {
  auto it = c.column_weights.find(calib_name);
  if (it == c.column_weights.end() || it->second.empty()) return {};
  if (int64_t(it->second.size()) != cols)
    fail(file, "column weights of " + calib_name + ": " + std::to_string(it->second.size()) + " values, the layer has " +
                   std::to_string(cols) + " input columns (a calibration of another model?)");
  std::vector<float> h = it->second;
  if (c.activation_power != 1.0)
    for (float& v : h) v = float(std::pow(double(v), c.activation_power));
  return h;
}

// The hessian of a linear layer's input (GPTQ), refused when missing or not cols × cols.
const float* hessian_for(const std::string& name, int64_t cols, const QuantizeConfig& c) {
  const std::string input = linear_input_name(name);
  auto it = c.hessians.find(input);
  if (it == c.hessians.end())
    fail(c.hessian_file, "tensors." + input + ": missing (binary_code.gptq needs the input hessian of " + name + ")");
  if (int64_t(it->second->size()) != cols * cols)
    fail(c.hessian_file, "tensors." + input + ": not " + std::to_string(cols) + " x " + std::to_string(cols) + " (" +
                             name + "'s input width; a hessian file of another model?)");
  return it->second->data();
}

// E[x] of a linear layer's input (bias correction), refused when missing or not `cols` long.
const std::vector<float>& mean_for(const std::string& name, int64_t cols, const QuantizeConfig& c,
                                   const std::string& file) {
  const std::string input = linear_input_name(name);
  auto it = c.input_means.find(input);
  if (it == c.input_means.end() || int64_t(it->second->size()) != cols)
    fail(file, "binary_code.bias_correction: no input mean of " + name +
                   " (it comes from a searched plan's recorded inputs: qtool search)");
  return *it->second;
}

}  // namespace

TensorReport quantize_linear(const std::string& name, LinearWeights& l, const Precision& p, const QuantizeConfig& c,
                             QuantizeCache* cache, const std::string& file) {
  if (p.kind == Precision::Kind::fp32) return {name, p.str(), l.weight->numel(), 32.0, 0.0};
  const auto key = std::make_pair(name, p.str());
  QuantizeCache::Linear local;
  QuantizeCache::Linear& q = cache ? cache->linears[key] : local;
  if (!q.int8 && !q.binary) {
    const Tensor& w = *l.weight;
    q.report = {name, p.str(), w.numel(), double(p.bits), 0.0};
    if (p.kind == Precision::Kind::int8) {
      q.int8 = std::make_shared<const Int8Tensor>(quantize_int8(w, c.int8.weight_type));
      q.report.relative_error = int8_error(w, *q.int8);
    } else {
      BinaryCodeOptions opt = c.binary;
      opt.bits = p.bits;
      const std::vector<float>* mu = c.bias_correction ? &mean_for(name, w.dim(1), c, file) : nullptr;
      if (c.gptq) {
        const float* hessian = hessian_for(name, w.dim(1), c);
        std::vector<float> centred_h;
        if (mu) centred_h = centred_hessian(hessian, *mu), hessian = centred_h.data();
        GptqResult g = quantize_binary_code_gptq(w.data.data(), w.dim(0), w.dim(1), opt, hessian, c.gptq_options);
        q.report.relative_error = g.code.relative_error;
        q.report.activation_aware = true;  // the start is weighted by diag H
        q.report.weighted_relative_error = g.code.weighted_relative_error;
        q.report.gptq = true;
        q.report.output_error = g.output_error;
        q.report.start_output_error = g.start_output_error;
        q.binary = std::make_shared<const BinaryCodeTensor>(std::move(g.code.tensor));
      } else {
        const std::vector<float> h = column_weights_for(linear_input_name(name), w.dim(1), c, file);
        opt.column_weights = h.empty() ? nullptr : h.data();
        BinaryCodeResult b = quantize_binary_code(w.data.data(), w.dim(0), w.dim(1), opt);
        q.report.relative_error = b.relative_error;
        q.report.activation_aware = !h.empty();
        q.report.weighted_relative_error = b.weighted_relative_error;
        q.binary = std::make_shared<const BinaryCodeTensor>(std::move(b.tensor));
      }
      if (mu) {
        std::vector<float> b = corrected_bias(w.data.data(), *q.binary, l.bias ? l.bias->data.data() : nullptr, *mu);
        if (c.vectors_f16)
          for (float& v : b) v = round_to_half(v);
        q.bias = std::make_shared<Tensor>(Tensor{{w.dim(0)}, std::move(b)});
      }
    }
  }
  l.int8 = q.int8;
  l.binary = q.binary;
  if (q.bias) l.bias = q.bias;
  l.weight.reset();
  return q.report;
}

EmbeddingCounts embedding_counts(const TokenCounts& tc, const Vocabulary& vocab, const MarianWeights& w,
                                 const std::string& file) {
  check_token_counts(tc, vocab, file);
  const bool shared = w.encoder_embed == w.decoder_embed;
  EmbeddingCounts c;
  c.encoder = counts_for(tc, shared ? "both" : "source", w.config.vocab_size, file);
  c.decoder = counts_for(tc, shared ? "both" : "target", w.config.decoder_vocab_size, file);
  return c;
}

ClusteredBinaryEmbedding cluster_embedding(const Tensor& table, const std::vector<int64_t>& counts, int clusters,
                                           double ratio, const BinaryCodeOptions& opt, double* relative_error,
                                           double* weighted_relative_error, const float* hessian,
                                           const GptqOptions* gptq) {
  const int64_t V = table.dim(0), d = table.dim(1);
  ClusteredBinaryEmbedding e;
  e.rows = V;
  e.cols = d;
  std::vector<std::vector<int64_t>> groups;
  if (counts.empty()) {
    if (clusters != 1) fail("embedding", "frequency clusters need token counts");
    groups.emplace_back();
    for (int64_t i = 0; i < V; ++i) groups[0].push_back(i);
  } else {
    groups = frequency_clusters(counts, clusters, ratio).rows;
  }
  double num = 0, den = 0, wnum = 0, wden = 0;
  for (size_t c = 0; c < groups.size(); ++c) {
    if (groups[c].empty()) continue;
    std::vector<float> rows;
    rows.reserve(groups[c].size() * d);
    for (int64_t id : groups[c]) {
      rows.insert(rows.end(), table.data.begin() + id * d, table.data.begin() + (id + 1) * d);
      e.order.push_back(static_cast<int32_t>(id));
    }
    BinaryCodeOptions o = opt;
    o.bits = opt.bits - int(c);  // cluster c of the most frequent: opt.bits − c planes
    BinaryCodeResult b = hessian && gptq
                             ? quantize_binary_code_gptq(rows.data(), int64_t(groups[c].size()), d, o, hessian, *gptq).code
                             : quantize_binary_code(rows.data(), int64_t(groups[c].size()), d, o);
    double n2 = 0, wn2 = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double v2 = double(rows[i]) * rows[i];
      n2 += v2;
      wn2 += opt.column_weights ? double(opt.column_weights[i % d]) * v2 : v2;
    }
    num += b.relative_error * b.relative_error * n2, den += n2;
    wnum += b.weighted_relative_error * b.weighted_relative_error * wn2, wden += wn2;
    e.clusters.push_back(std::move(b.tensor));
  }
  finish_clustered_embedding(e, "embedding");
  if (relative_error) *relative_error = den > 0 ? std::sqrt(num / den) : 0.0;
  if (weighted_relative_error) *weighted_relative_error = wden > 0 ? std::sqrt(wnum / wden) : 0.0;
  return e;
}

// "vectors": "fp16": every bias and LayerNorm parameter becomes the half the
// .qtm will store, so the model evaluated here is the one that runs.
void round_vectors_to_half(MarianWeights& w) {
  std::map<const Tensor*, TensorPtr> done;  // a tensor shared by two roles is rounded once
  auto round = [&](TensorPtr& t) {
    if (!t) return;
    auto [it, fresh] = done.try_emplace(t.get());
    if (fresh) {
      auto r = std::make_shared<Tensor>(*t);
      for (float& v : r->data) v = round_to_half(v);
      it->second = std::move(r);
    }
    t = it->second;
  };
  for (NamedLinear& l : linear_layers(w)) round(l.weights->bias);
  for (auto& [name, n] : layer_norms(w)) {
    round(n->gamma);
    round(n->beta);
  }
}

std::vector<TensorReport> quantize_model(MarianWeights& w, const QuantizeConfig& config, const EmbeddingCounts& counts,
                                         const std::string& file, const std::function<void(int, int)>& progress,
                                         QuantizeCache* cache) {
  if (config.vectors_f16) round_vectors_to_half(w);
  if (!config.has_plan) {
    quantize_linears_int8(w, config.int8);
    std::vector<TensorReport> out;
    for (NamedLinear& l : linear_layers(w))
      if (l.weights->int8) out.push_back({l.name, "int8", l.weights->int8->rows * l.weights->int8->cols, 8.0, 0.0});
    return out;
  }
  const PrecisionPlan& plan = config.plan;
  const ModelConfig& mc = w.config;
  // Every override must name a layer this model has.
  for (const auto& [key, p] : plan.layers) {
    const bool enc = key.rfind("encoder.", 0) == 0;
    const int index = std::stoi(key.substr(key.find('.') + 1));
    if (index >= (enc ? mc.encoder_layers : mc.decoder_layers))
      fail(file, "precision.layers." + key + ": the model has " +
                     std::to_string(enc ? mc.encoder_layers : mc.decoder_layers) + (enc ? " encoder" : " decoder") +
                     " layers");
  }
  const bool tied = w.output.weight && w.output.weight == w.decoder_embed;
  const bool shared_table = w.encoder_embed == w.decoder_embed;
  std::vector<NamedLinear> linears = linear_layers(w);
  const int total = static_cast<int>(linears.size()) + 2;
  int done = 0;
  std::vector<TensorReport> report;

  // Embeddings (and a tied output projection with them).
  auto embed = [&](const TensorPtr& table, const std::vector<int64_t>& freq, const std::string& name,
                   std::shared_ptr<const Int8Tensor>* int8, std::shared_ptr<const ClusteredBinaryEmbedding>* bin) {
    const Precision& p = plan.embedding;
    const bool clustered = p.kind == Precision::Kind::binary && plan.embedding_clusters > 0;
    const std::string format =
        clustered ? std::to_string(plan.embedding_clusters) + " clusters from " + p.str() + ", ratio " +
                        std::to_string(plan.embedding_ratio)
                  : p.str();
    QuantizeCache::Embedding local;
    QuantizeCache::Embedding& q = cache ? cache->embeddings[{name, format}] : local;
    if (!q.int8 && !q.binary) {
      q.report = {name, format, table->numel(), double(p.bits), 0.0};
      if (p.kind == Precision::Kind::int8) {
        q.int8 = std::make_shared<const Int8Tensor>(quantize_int8(*table, QType::int8_per_channel));
        q.report.relative_error = int8_error(*table, *q.int8);
      } else {
        if (clustered && freq.empty())
          fail(file, "precision.embedding: frequency clusters need token counts (qtool quantize --token-counts)");
        BinaryCodeOptions opt = config.binary;
        opt.bits = p.bits;
        // The tied output projection's input weighs the columns (its embedding role has no product).
        const bool serves_output = tied && plan.output_shares_embedding && table == w.decoder_embed;
        const std::vector<float> h =
            serves_output ? column_weights_for("lm_head", table->dim(1), config, file) : std::vector<float>{};
        opt.column_weights = h.empty() ? nullptr : h.data();
        const bool gptq = serves_output && config.gptq && config.gptq_options.embedding;
        const float* hessian = gptq ? hessian_for("lm_head", table->dim(1), config) : nullptr;
        q.binary = std::make_shared<ClusteredBinaryEmbedding>(
            cluster_embedding(*table, clustered ? freq : std::vector<int64_t>{}, clustered ? plan.embedding_clusters : 1,
                              plan.embedding_ratio, opt, &q.report.relative_error, &q.report.weighted_relative_error,
                              hessian, &config.gptq_options));
        q.report.activation_aware = !h.empty() || gptq;  // (no per-cluster output error in the report)
        q.report.bits = q.binary->average_bits();
      }
    }
    *int8 = q.int8;
    *bin = q.binary;
    report.push_back(q.report);
  };
  if (plan.embedding.kind != Precision::Kind::fp32) {
    embed(w.encoder_embed, counts.encoder, w.encoder_embed_name, &w.encoder_embed_int8, &w.encoder_embed_binary);
    if (shared_table) {
      w.decoder_embed_int8 = w.encoder_embed_int8;
      w.decoder_embed_binary = w.encoder_embed_binary;
    } else {
      embed(w.decoder_embed, counts.decoder, w.decoder_embed_name, &w.decoder_embed_int8, &w.decoder_embed_binary);
    }
  }
  if (progress) progress(done += 2, total);

  // The output projection: the tied embedding's code, or its own.
  LinearWeights& out = w.output;
  if (plan.output_shares_embedding) {
    if (!tied && plan.embedding.kind != Precision::Kind::fp32)
      fail(file, "precision.output_projection: \"embedding\" needs a tied output projection (this model has its own "
                 "lm_head.weight): give it 1..4, \"int8\" or \"fp32\"");
    if (plan.embedding.kind == Precision::Kind::int8) out.int8 = w.decoder_embed_int8;
    else if (plan.embedding.kind == Precision::Kind::binary) out.clustered = w.decoder_embed_binary;
    // Bias correction of the tied code's logits, as for a linear layer: its own
    // error (E − Ê)μ per vocabulary row is absorbed by final_logits_bias.
    if (out.clustered && config.bias_correction) {
      const Tensor& table = *w.decoder_embed;
      std::vector<float> b = corrected_logits_bias(table.data.data(), *out.clustered, out.bias ? out.bias->data.data() : nullptr,
                                                   mean_for("lm_head", table.dim(1), config, file));
      if (config.vectors_f16)
        for (float& v : b) v = round_to_half(v);
      out.bias = std::make_shared<Tensor>(Tensor{{table.dim(0)}, std::move(b)});
    }
  } else {
    report.push_back(quantize_linear("lm_head", out, plan.output_projection, config, cache, file));
  }
  if (out.quantized()) out.weight.reset();

  for (NamedLinear& l : linears) {
    if (l.name == "lm_head") continue;
    report.push_back(quantize_linear(l.name, *l.weights, plan.of(l.name), config, cache, file));
    if (progress) progress(++done, total);
  }
  if (w.encoder_embed_int8 || w.encoder_embed_binary) w.encoder_embed.reset();
  if (w.decoder_embed_int8 || w.decoder_embed_binary) w.decoder_embed.reset();
  return report;
}

}  // namespace qtool::quantize
