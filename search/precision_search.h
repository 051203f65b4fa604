// Per-sub-layer mixed precision by greedy search (Chung et al. 2020, §3.3):
// first the sensitivity of each sub-layer type (its cost when only that type is
// binary-coded, at each level), then, from the top level everywhere, repeatedly
// lower by one level the knob whose measured cost per saved bit is smallest,
// until the average bits reach the target (or the next step would lose more
// dev BLEU than allowed). Dev data only, never test.
// The cost is the paper's dev BLEU, or by default the mean NLL of the FP32
// model's own translations of the dev lines (forced_score.h): BLEU on a few
// hundred lines moves by ±0.3 on its own, so steps ranked by it follow noise,
// and two searches whose inputs differ slightly end at plans 0.5 test BLEU
// apart. Each step's dev BLEU is still measured and reported.
//
// Then, with a target, the budget the last step left is refilled sub-layer by
// sub-layer (per-layer bits, "precision.layers"): the one-level raises that fit,
// best NLL gain per bit first.
// Every candidate is quantized by the method the final model uses: GPTQ when
// hessians are given, biases and LayerNorm as halves. Bits are stored bits:
// sign planes, α (halves) and the embedding's order table, per weight.
// The embedding's levels with token counts (the paper's frequency clusters,
// extended upward so frequent words can keep 4 bits):
//   1: 1 bit   2: {2,1}   3: {3,2,1}   4: {4,3,2,1}   5: {4,3,2}   6: {4,3}   7: 4 bits
// without counts: 1..4 bits.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/vocabulary.h"
#include "model/weights.h"
#include "quantize/config.h"
#include "quantize/model_quantizer.h"

namespace qtool::search {

struct SearchOptions {
  double target_bits = 0;      // stop at or below this average (0: not used)
  double max_bleu_drop = -1;   // stop before losing more than this against FP32 (< 0: not used)
  int sentences = 0;           // dev lines for the greedy steps (0: all)
  int sensitivity_sentences = 0;  // fewer for the sensitivity pass (0: half of `sentences`)
  enum class Criterion { nll, bleu };
  Criterion criterion = Criterion::nll;  // what the sensitivity pass and the steps measure
  int batch_size = 32;
  int streams = 2;             // parallel batches: both cores busy
  double embedding_ratio = 1.0;  // cluster size ratio r (b clusters, cluster i gets b − i bits)
  quantize::BinaryCodeOptions binary;
  // Activation-aware binary code: h per input column by calibration tensor name
  // (QuantizeConfig::column_weights), used by every candidate; empty = unweighted.
  std::map<std::string, std::vector<float>> column_weights;
  double activation_power = quantize::QuantizeConfig{}.activation_power;  // h^a
  // GPTQ for every binary-coded layer (quantize/gptq.h) on these H by calibration
  // name; empty = the plain alternating code.
  std::map<std::string, std::shared_ptr<const std::vector<float>>> hessians;
  quantize::GptqOptions gptq{0.01, 2, true, false};
  // Bias correction (QuantizeConfig::bias_correction) on these E[x]; empty = off.
  std::map<std::string, std::shared_ptr<const std::vector<float>>> input_means;
  bool vectors_f16 = true;  // biases and LayerNorm as halves, as the plan's model stores them
  bool refill = true;  // after the descent, raise single sub-layers back while they fit the target
  bool progress = true;
};

// A knob the search turns: a sub-layer type, the embedding, or an untied output
// projection; level = bits, or the embedding's ladder step (above).
struct Knob {
  std::string name;
  int64_t params = 0;
};

struct SearchStep {
  std::string change;   // "dec_ffn 3 → 2"
  double average_bits = 0;
  int64_t weight_bytes = 0;  // sign planes, scales and cluster tables of the quantized weights
  double bleu = 0;
  double nll = 0;  // criterion nll: the NLL per token of the FP32 translations (else 0)
  quantize::PrecisionPlan plan;
};

struct Sensitivity {
  std::string knob;
  int level = 0;
  double cost = 0;  // dev BLEU (criterion bleu) or NLL per token (nll) with only this knob quantized
};

struct SearchResult {
  SearchOptions::Criterion criterion = SearchOptions::Criterion::nll;  // what ranked the steps
  double fp32_bleu = 0;
  double fp32_nll = 0;  // criterion nll
  std::vector<Sensitivity> sensitivity;
  std::vector<SearchStep> steps;  // steps[0]: the start (4 bits everywhere)
  quantize::PrecisionPlan chosen;
};

SearchResult search_precision(const MarianWeights& fp32, std::shared_ptr<const Vocabulary> vocab,
                              const quantize::EmbeddingCounts& counts, const std::vector<std::string>& dev_src,
                              const std::vector<std::string>& dev_ref, const SearchOptions& opt,
                              const std::function<void(const std::string&)>& log = {});

// The criterion named "nll" or "bleu" (the CLI's and the pipeline's spelling); false for any other name.
// Inline: the pipeline config's parser (and its fuzz harness) links no search code.
inline bool criterion_from_name(const std::string& name, SearchOptions::Criterion* criterion) {
  if (name != "nll" && name != "bleu") return false;
  *criterion = name == "nll" ? SearchOptions::Criterion::nll : SearchOptions::Criterion::bleu;
  return true;
}

// The config file the search writes: a quantization config with its plan and
// method; `inputs` (an object) records what quantize must recompute from.
std::string plan_config_json(const quantize::PrecisionPlan& plan, const SearchOptions& opt,
                             const std::string& description, const std::string& inputs_json = "");

}  // namespace qtool::search
