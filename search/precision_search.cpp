#include "search/precision_search.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "eval/bleu.h"
#include "quantize/frequency_clusters.h"
#include "runtime/translator.h"
#include "search/forced_score.h"

namespace qtool::search {
namespace {

using quantize::Precision;
using quantize::PrecisionPlan;
using State = std::map<std::string, int>;  // knob → level (bits; clusters for the embedding)

// The embedding's ladder with token counts: (most frequent cluster's bits, clusters; 0 = uniform).
struct EmbeddingLevel {
  int bits, clusters;
};
constexpr EmbeddingLevel kEmbeddingLadder[] = {{1, 0}, {2, 2}, {3, 3}, {4, 4}, {4, 3}, {4, 2}, {4, 0}};

class Searcher {
 public:
  Searcher(const MarianWeights& fp32, std::shared_ptr<const Vocabulary> vocab, const quantize::EmbeddingCounts& counts,
           const SearchOptions& opt)
      : fp32_(fp32), vocab_(std::move(vocab)), counts_(counts), opt_(opt) {
    MarianWeights w = fp32_;
    tied_ = w.output.weight && w.output.weight == w.decoder_embed;
    for (NamedLinear& l : linear_layers(w)) {
      if (l.name == "lm_head") continue;
      const Tensor& t = *l.weights->weight;
      const auto [layer, type] = quantize::sublayer_of(l.name);
      for (Knob* k : {&knobs_[type], &layers_[layer]}) {
        k->params += t.numel();
        k->shapes.push_back({t.dim(0), t.dim(1)});
      }
      type_of_[layer] = type;
    }
    Knob& e = knobs_["embedding"];
    e.params = w.encoder_embed->numel() + (w.encoder_embed == w.decoder_embed ? 0 : w.decoder_embed->numel());
    e.shapes.push_back({w.encoder_embed->dim(0), w.encoder_embed->dim(1)});
    if (w.encoder_embed != w.decoder_embed) e.shapes.push_back({w.decoder_embed->dim(0), w.decoder_embed->dim(1)});
    if (!tied_) {
      Knob& o = knobs_["output_projection"];
      o.params = w.output.weight->numel();
      o.shapes.push_back({w.output.weight->dim(0), w.output.weight->dim(1)});
    }
    for (const auto& [k, knob] : knobs_) total_params_ += knob.params;
    clustered_ = !counts_.encoder.empty() && !counts_.decoder.empty();
  }

  std::vector<std::string> knobs() const {
    std::vector<std::string> k;
    for (const auto& [name, p] : knobs_) k.push_back(name);
    return k;
  }
  int top_level(const std::string& knob) const { return knob == "embedding" && clustered_ ? 7 : 4; }

  EmbeddingLevel embedding_level(int level) const {
    return clustered_ ? kEmbeddingLadder[level - 1] : EmbeddingLevel{level, 0};
  }

  // Stored bytes of a knob at a level: sign planes with their padding, α as
  // halves, and a clustered embedding's order table (what the .qtm holds).
  int64_t level_bytes(const std::string& knob, int level) const {
    const Knob& k = knobs_.count(knob) ? knobs_.at(knob) : layers_.at(knob);
    int64_t bytes = 0;
    for (const auto& [rows, cols] : k.shapes) {
      if (knob != "embedding") {
        bytes += binary_code_bytes(rows, cols, level, opt_.binary.group_size);
        continue;
      }
      const EmbeddingLevel e = embedding_level(level);
      const std::vector<int64_t> sizes =
          e.clusters > 0 ? quantize::cluster_sizes(rows, e.clusters, opt_.embedding_ratio) : std::vector<int64_t>{rows};
      for (size_t i = 0; i < sizes.size(); ++i)
        if (sizes[i] > 0) bytes += binary_code_bytes(sizes[i], cols, e.bits - int(i), opt_.binary.group_size);
      bytes += rows * int64_t(sizeof(int32_t));  // the order table (identity when uniform)
    }
    return bytes;
  }

  // `layers`: per-layer levels ("decoder.3.ffn") over their type's.
  double average_bits(const State& s, const State& layers = {}) const {
    double bits = 0;
    for (const auto& [k, level] : s) bits += 8.0 * double(level_bytes(k, level));
    for (const auto& [key, level] : layers)
      bits += 8.0 * double(level_bytes(key, level) - level_bytes(key, s.at(type_of_.at(key))));
    return bits / double(total_params_);
  }

  // The sub-layers one level can be raised in, with their current level.
  State raisable(const State& s, const State& layers) const {
    State out;
    for (const auto& [key, type] : type_of_) {
      auto it = layers.find(key);
      const int level = it != layers.end() ? it->second : s.at(type);
      if (level < 4) out[key] = level;
    }
    return out;
  }

  // The plan of a state; knobs absent from it stay FP32.
  PrecisionPlan plan(const State& s, const State& layers = {}) const {
    PrecisionPlan p;
    for (const auto& [key, level] : layers) p.layers[key] = Precision::binary(level);
    for (const char* t : quantize::kSublayerTypes) {
      auto it = s.find(t);
      p.sublayers[t] = it == s.end() ? Precision::fp32() : Precision::binary(it->second);
    }
    if (auto it = s.find("embedding"); it != s.end()) {
      const EmbeddingLevel e = embedding_level(it->second);
      p.embedding = Precision::binary(e.bits);
      p.embedding_clusters = e.clusters;
      p.embedding_ratio = opt_.embedding_ratio;
    }
    p.output_shares_embedding = tied_;
    if (!tied_) {
      auto it = s.find("output_projection");
      p.output_projection = it == s.end() ? Precision::fp32() : Precision::binary(it->second);
    }
    return p;
  }

  // A level as people read it: "3 bits", or the embedding's "{4,3,2} clusters".
  std::string level_name(const std::string& knob, int level) const {
    if (knob != "embedding") return std::to_string(level);
    const EmbeddingLevel e = embedding_level(level);
    if (e.clusters == 0) return std::to_string(e.bits);
    std::string n = "{";
    for (int c = 0; c < e.clusters; ++c) n += (c ? "," : "") + std::to_string(e.bits - c);
    return n + "}";
  }

  // Dev BLEU of a plan on the first n lines, and the weights' bytes.
  std::pair<double, int64_t> evaluate(const PrecisionPlan& p, const std::vector<std::string>& src,
                                      const std::vector<std::string>& ref) {
    MarianWeights w = quantized(p);
    const int64_t bytes = weight_bytes(w);
    auto model = std::make_shared<const runtime::MarianModel>(w);
    runtime::Translator tr(model, vocab_);
    runtime::TranslateOptions t;
    t.batch_size = opt_.batch_size;
    t.streams = opt_.streams;
    t.progress = false;
    return {eval::corpus_bleu(tr.translate(src, t), ref).score, bytes};
  }

  // The FP32 weights quantized by a plan, the way the final model is (tensors cached).
  MarianWeights quantized(const PrecisionPlan& p) {
    quantize::QuantizeConfig c;
    c.has_plan = true;
    c.plan = p;
    c.binary = opt_.binary;
    c.column_weights = opt_.column_weights;  // the cache serves this one set of weights
    c.activation_power = opt_.activation_power;
    c.gptq = !opt_.hessians.empty();
    c.gptq_options = opt_.gptq;
    c.hessians = opt_.hessians;
    c.bias_correction = !opt_.input_means.empty();
    c.input_means = opt_.input_means;
    c.vectors_f16 = opt_.vectors_f16;
    MarianWeights w = fp32_;
    quantize::quantize_model(w, c, counts_, "search", {}, &cache_);
    return w;
  }

  // The FP32 model's greedy translations of `src`: the targets forced_nll scores.
  void set_forced_targets(const std::vector<std::string>& src) {
    auto model = std::make_shared<const runtime::MarianModel>(fp32_);
    runtime::Translator tr(model, vocab_);
    forced_sources_.clear();
    for (const std::string& l : src) forced_sources_.push_back(tr.encode_source(l));
    runtime::TranslateOptions t;
    t.batch_size = opt_.batch_size;
    t.progress = false;
    forced_targets_ = tr.translate_ids(forced_sources_, t);
  }

  // Mean NLL per token of those translations under a plan's model (lower is closer to FP32).
  double forced_nll(const PrecisionPlan& p) {
    MarianWeights w = quantized(p);
    const runtime::MarianModel model(w);
    return search::forced_nll(model, forced_sources_, forced_targets_, opt_.batch_size);
  }

  bool tied() const { return tied_; }

 private:
  static int64_t weight_bytes(MarianWeights& w) {
    std::set<const void*> seen;
    int64_t bytes = 0;
    auto add = [&](const void* p, int64_t b) {
      if (p && seen.insert(p).second) bytes += b;
    };
    for (NamedLinear& l : linear_layers(w)) {
      const LinearWeights& x = *l.weights;
      if (x.binary) add(x.binary.get(), binary_code_bytes(*x.binary));
      else if (x.clustered) add(x.clustered.get(), x.clustered->bytes());
      else if (x.int8) add(x.int8.get(), x.int8->rows * x.int8->cols + int64_t(x.int8->scales.size()) * 4);
      else add(x.weight.get(), x.weight->numel() * 4);
    }
    for (auto* e : {&w.encoder_embed_binary, &w.decoder_embed_binary})
      if (*e) add(e->get(), (*e)->bytes());
    for (auto* e : {&w.encoder_embed, &w.decoder_embed})
      if (*e) add(e->get(), (*e)->numel() * 4);
    return bytes;
  }

  struct Knob {
    int64_t params = 0;
    std::vector<std::pair<int64_t, int64_t>> shapes;  // [rows, cols] of its matrices
  };
  const MarianWeights& fp32_;
  std::shared_ptr<const Vocabulary> vocab_;
  const quantize::EmbeddingCounts& counts_;
  SearchOptions opt_;
  quantize::QuantizeCache cache_;
  std::map<std::string, Knob> knobs_;   // by sub-layer type (and embedding, output projection)
  std::map<std::string, Knob> layers_;  // by sub-layer ("decoder.3.ffn")
  std::map<std::string, std::string> type_of_;  // sub-layer → its type
  std::vector<std::vector<int>> forced_sources_, forced_targets_;
  int64_t total_params_ = 0;
  bool tied_ = false, clustered_ = false;
};

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

}  // namespace

SearchResult search_precision(const MarianWeights& fp32, std::shared_ptr<const Vocabulary> vocab,
                              const quantize::EmbeddingCounts& counts, const std::vector<std::string>& dev_src,
                              const std::vector<std::string>& dev_ref, const SearchOptions& opt,
                              const std::function<void(const std::string&)>& log) {
  auto say = [&](const std::string& s) {
    if (log) log(s);
  };
  Searcher s(fp32, vocab, counts, opt);
  const size_t n = opt.sentences > 0 ? std::min<size_t>(opt.sentences, dev_src.size()) : dev_src.size();
  const size_t n_sens = opt.sensitivity_sentences > 0 ? std::min<size_t>(opt.sensitivity_sentences, n)
                                                      : std::max<size_t>(1, n / 2);
  const std::vector<std::string> src(dev_src.begin(), dev_src.begin() + n), ref(dev_ref.begin(), dev_ref.begin() + n);
  const std::vector<std::string> src_s(src.begin(), src.begin() + n_sens), ref_s(ref.begin(), ref.begin() + n_sens);
  SearchResult r;

  const bool by_nll = opt.criterion == SearchOptions::Criterion::nll;
  r.criterion = opt.criterion;
  r.fp32_bleu = s.evaluate(s.plan({}), src, ref).first;
  // How good a plan is, higher better: −NLL of the FP32 translations of all
  // the dev lines, or dev BLEU (the sensitivity pass on its smaller subset).
  auto measure = [&](const PrecisionPlan& p, bool sensitivity_pass) {
    if (by_nll) return -s.forced_nll(p);
    return s.evaluate(p, sensitivity_pass ? src_s : src, sensitivity_pass ? ref_s : ref).first;
  };
  auto shown = [&](double m) { return by_nll ? "NLL " + fmt("%.4f", -m) : "dev BLEU " + fmt("%.2f", m); };
  double fp32_sens = 0;  // the sensitivity deltas are against FP32 on the same lines
  if (by_nll) {
    s.set_forced_targets(src);
    r.fp32_nll = s.forced_nll(s.plan({}));
    fp32_sens = -r.fp32_nll;
    say("FP32 dev BLEU " + fmt("%.2f", r.fp32_bleu) + " (" + std::to_string(n) + " lines); NLL of its own " +
        "translations " + fmt("%.4f", r.fp32_nll) + " per token");
  } else {
    fp32_sens = measure(s.plan({}), true);
    say("FP32 dev BLEU " + fmt("%.2f", r.fp32_bleu) + " (" + std::to_string(n) + " lines; " + fmt("%.2f", fp32_sens) +
        " on the " + std::to_string(n_sens) + " of the sensitivity pass)");
  }

  // Sensitivity: one knob quantized at a time, every level.
  std::map<std::pair<std::string, int>, double> sens;
  for (const std::string& k : s.knobs())
    for (int level = s.top_level(k); level >= 1; --level) {
      const double m = measure(s.plan({{k, level}}), true);
      sens[{k, level}] = m;
      r.sensitivity.push_back({k, level, by_nll ? -m : m});
      say("sensitivity " + k + " at " + s.level_name(k, level) + ": " + shown(m) + " (" +
          fmt(by_nll ? "%+.4f" : "%+.2f", by_nll ? fp32_sens - m : m - fp32_sens) + ")");
    }

  // Greedy descent from the top level everywhere.
  State state;
  for (const std::string& k : s.knobs()) state[k] = s.top_level(k);
  auto [bleu, bytes] = s.evaluate(s.plan(state), src, ref);
  double now = by_nll ? measure(s.plan(state), false) : bleu;
  r.steps.push_back({"start: 4 bits everywhere", s.average_bits(state), bytes, bleu, by_nll ? -now : 0, s.plan(state)});
  say("start: " + fmt("%.2f", s.average_bits(state)) + " bits, dev BLEU " + fmt("%.2f", bleu) +
      (by_nll ? ", " + shown(now) : ""));
  r.chosen = s.plan(state);
  while (true) {
    const double bits_now = s.average_bits(state);
    if (opt.target_bits > 0 && bits_now <= opt.target_bits + 1e-9) break;
    // Rank the possible one-bit steps by their sensitivity-estimated cost per
    // saved bit, then measure the three most promising on the whole model.
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& [k, level] : state) {
      if (level <= 1) continue;
      State next = state;
      next[k] = level - 1;
      const double saved = bits_now - s.average_bits(next);
      const double cost = std::max(0.0, sens[{k, level}] - sens[{k, level - 1}]);
      ranked.push_back({cost / std::max(saved, 1e-9), k});
    }
    if (ranked.empty()) break;
    std::sort(ranked.begin(), ranked.end());
    double best_cost = std::numeric_limits<double>::infinity(), best_measure = 0, best_bleu = 0;
    int64_t best_bytes = 0;
    std::string best;
    for (size_t i = 0; i < ranked.size() && i < 3; ++i) {
      State next = state;
      next[ranked[i].second] -= 1;
      double b = 0, m = 0;
      int64_t by = 0;
      if (by_nll) m = measure(s.plan(next), false);
      else std::tie(b, by) = s.evaluate(s.plan(next), src, ref), m = b;
      const double cost = (now - m) / std::max(bits_now - s.average_bits(next), 1e-9);
      if (cost < best_cost) best_cost = cost, best = ranked[i].second, best_measure = m, best_bleu = b, best_bytes = by;
    }
    State next = state;
    next[best] -= 1;
    if (by_nll) std::tie(best_bleu, best_bytes) = s.evaluate(s.plan(next), src, ref);  // for the table and max_bleu_drop
    if (opt.max_bleu_drop >= 0 && r.fp32_bleu - best_bleu > opt.max_bleu_drop) break;
    const int from = state[best];
    state = next;
    bleu = best_bleu;
    now = best_measure;
    const std::string change = best + " " + s.level_name(best, from) + " → " + s.level_name(best, from - 1);
    r.steps.push_back({change, s.average_bits(state), best_bytes, bleu, by_nll ? -now : 0, s.plan(state)});
    r.chosen = s.plan(state);
    say("step " + std::to_string(r.steps.size() - 1) + ": " + change + ": " + fmt("%.2f", s.average_bits(state)) +
        " bits, dev BLEU " + fmt("%.2f", bleu) + (by_nll ? ", " + shown(now) : ""));
  }
  // Refill: the last step usually lands below the target. Spend what is left
  // one sub-layer at a time: every one-level raise that fits is scored by the
  // NLL of the FP32 translations of the dev lines (forced_score.h: smooth where
  // BLEU on a few hundred lines is noise), and the raises are taken best gain
  // per bit first while they fit.
  if (opt.target_bits > 0 && opt.refill) {
    if (!by_nll) s.set_forced_targets(src);
    State layers;
    const double base = s.forced_nll(s.plan(state));
    say("refill: NLL of the FP32 translations " + fmt("%.4f", base) + " per token at " +
        fmt("%.3f", s.average_bits(state)) + " bits");
    std::vector<std::tuple<double, std::string, int>> ranked;  // −gain per bit, sub-layer, level
    for (const auto& [key, level] : s.raisable(state, layers)) {
      const State next = {{key, level + 1}};
      const double cost_bits = s.average_bits(state, next) - s.average_bits(state);
      if (s.average_bits(state, next) > opt.target_bits + 1e-9) continue;
      const double gain = base - s.forced_nll(s.plan(state, next));
      say("refill candidate " + key + " " + std::to_string(level) + " → " + std::to_string(level + 1) + ": NLL " +
          fmt("%+.4f", -gain));
      if (gain > 0) ranked.push_back({-gain / std::max(cost_bits, 1e-9), key, level + 1});
    }
    std::sort(ranked.begin(), ranked.end());
    std::string change;
    for (const auto& [neg, key, level] : ranked) {
      State next = layers;
      next[key] = level;
      if (s.average_bits(state, next) > opt.target_bits + 1e-9) continue;
      layers = next;
      change += (change.empty() ? "" : ", ") + key + " " + std::to_string(level - 1) + " → " + std::to_string(level);
    }
    if (!layers.empty()) {
      const auto [b, by] = s.evaluate(s.plan(state, layers), src, ref);
      r.steps.push_back({"refill: " + change, s.average_bits(state, layers), by, b,
                         by_nll ? s.forced_nll(s.plan(state, layers)) : 0, s.plan(state, layers)});
      r.chosen = s.plan(state, layers);
      say("refill step " + std::to_string(r.steps.size() - 1) + ": " + change + ": " +
          fmt("%.2f", s.average_bits(state, layers)) + " bits, dev BLEU " + fmt("%.2f", b));
    }
  }
  return r;
}

std::string plan_config_json(const PrecisionPlan& plan, const SearchOptions& opt, const std::string& description,
                             const std::string& inputs_json) {
  using nlohmann::json;
  auto value = [](const Precision& p) -> json {
    if (p.kind == Precision::Kind::binary) return p.bits;
    return p.kind == Precision::Kind::int8 ? "int8" : "fp32";
  };
  json prec = json::object();
  for (const auto& [type, p] : plan.sublayers) prec[type] = value(p);
  if (plan.embedding.kind == Precision::Kind::binary && plan.embedding_clusters > 0)
    prec["embedding"] = {
        {"clusters", plan.embedding_clusters}, {"ratio", plan.embedding_ratio}, {"bits", plan.embedding.bits}};
  else
    prec["embedding"] = value(plan.embedding);
  prec["output_projection"] = plan.output_shares_embedding ? json("embedding") : value(plan.output_projection);
  if (!plan.layers.empty()) {
    json layers = json::object();
    for (const auto& [key, p] : plan.layers) layers[key] = value(p);
    prec["layers"] = layers;
  }
  json bc = {{"iterations", opt.binary.iterations}, {"group_size", opt.binary.group_size}};
  if (!opt.column_weights.empty()) bc["activation_power"] = opt.activation_power;
  if (!opt.input_means.empty()) bc["bias_correction"] = true;
  if (!opt.hessians.empty())
    bc["gptq"] = {{"damp", opt.gptq.damp}, {"rounds", opt.gptq.rounds}, {"act_order", opt.gptq.act_order},
                  {"embedding", opt.gptq.embedding}};
  json j = {{"version", 1}, {"description", description}, {"binary_code", bc}, {"precision", prec}};
  if (opt.vectors_f16) j["vectors"] = "fp16";
  if (!inputs_json.empty()) j["inputs"] = json::parse(inputs_json);
  return j.dump(2) + "\n";
}

}  // namespace qtool::search
