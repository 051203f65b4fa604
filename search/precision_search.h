// Per-sub-layer mixed precision by greedy search (Chung et al. 2020, §3.3):
// first the sensitivity of each sub-layer type (dev BLEU when only that type is
// binary-coded, at each bit width), then, from 4 bits everywhere, repeatedly
// lower by one bit the type whose measured dev-BLEU cost per saved bit is
// smallest, until the average bits reach the target (or the next step would
// lose more BLEU than allowed). Dev data only, never test.
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
  int batch_size = 32;
  int streams = 2;             // parallel batches: both cores busy
  double embedding_ratio = 1.0;  // cluster size ratio r (b clusters, cluster i gets b − i bits)
  quantize::BinaryCodeOptions binary;
  // Activation-aware binary code: h per input column by calibration tensor name
  // (QuantizeConfig::column_weights), used by every candidate; empty = unweighted.
  std::map<std::string, std::vector<float>> column_weights;
  double activation_power = quantize::QuantizeConfig{}.activation_power;  // h^a
  bool progress = true;
};

// A knob the search turns: a sub-layer type, the embedding's cluster count, or
// an untied output projection; level = bits (clusters for the embedding), 1..4.
struct Knob {
  std::string name;
  int64_t params = 0;
};

struct SearchStep {
  std::string change;   // "dec_ffn 3 → 2"
  double average_bits = 0;
  int64_t weight_bytes = 0;  // sign planes, scales and cluster tables of the quantized weights
  double bleu = 0;
  quantize::PrecisionPlan plan;
};

struct Sensitivity {
  std::string knob;
  int level = 0;
  double bleu = 0;
};

struct SearchResult {
  double fp32_bleu = 0;
  std::vector<Sensitivity> sensitivity;
  std::vector<SearchStep> steps;  // steps[0]: the start (4 bits everywhere)
  quantize::PrecisionPlan chosen;
};

SearchResult search_precision(const MarianWeights& fp32, std::shared_ptr<const Vocabulary> vocab,
                              const quantize::EmbeddingCounts& counts, const std::vector<std::string>& dev_src,
                              const std::vector<std::string>& dev_ref, const SearchOptions& opt,
                              const std::function<void(const std::string&)>& log = {});

// The config file the search writes: a quantization config with its plan.
std::string plan_config_json(const quantize::PrecisionPlan& plan, const SearchOptions& opt,
                             const std::string& description);

}  // namespace qtool::search
