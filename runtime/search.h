// Greedy and beam search with Hugging Face generate()'s rules for Marian:
// the pad token is never generated, bad_words_ids are masked, and the forced
// eos token is the only choice at the last position (max_new_tokens).
#pragma once
#include <vector>

#include "runtime/model.h"

namespace qtool::runtime {

struct SearchOptions {
  int beam_size = 1;
  int max_new_tokens = 0;  // including the final eos; 0 = the model's (max_new_tokens() below)
  double length_penalty = 1.0;
  bool early_stopping = true;
  int num_hypotheses = 1;      // n-best kept per sentence (beam search: at most beam_size)
  bool greedy_scores = false;  // greedy search also sums log-probabilities (beam search always does)
};

// The longest output, eos included: opt.max_new_tokens, or when 0 the model's
// generation max_length − 1, as transformers' generate() (its max_length counts
// the decoder start token; 256 when the checkpoint gives none).
int max_new_tokens(const SearchOptions& opt, const ModelConfig& c);

// A finished output: ids without the start token and without eos; score =
// Σ log p(token) over its tokens and eos / (tokens + 1)^length_penalty, the
// score beam search ranks by (0 for greedy search without greedy_scores).
struct Hypothesis {
  std::vector<int> ids;
  double score = 0;
};

// Output ids per sentence of the encoder batch: without the start token and without eos.
std::vector<std::vector<int>> greedy_search(const MarianModel& model, const EncoderOutput& enc,
                                            const SearchOptions& opt);
std::vector<std::vector<int>> beam_search(const MarianModel& model, const EncoderOutput& enc,
                                          const SearchOptions& opt);
// The same searches with scores: per sentence, one hypothesis (greedy) or the
// num_hypotheses best finished beams, best first; the first is what the
// functions above return.
std::vector<std::vector<Hypothesis>> greedy_search_hypotheses(const MarianModel& model, const EncoderOutput& enc,
                                                              const SearchOptions& opt);
std::vector<std::vector<Hypothesis>> beam_search_hypotheses(const MarianModel& model, const EncoderOutput& enc,
                                                            const SearchOptions& opt);

// The logits rules above, for a hypothesis that has `generated` tokens so far.
void apply_generation_rules(const ModelConfig& c, int generated, const SearchOptions& opt,
                            float* scores);

}  // namespace qtool::runtime
