#include "runtime/search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "runtime/kernels/vec_ops.h"
#include "runtime/ops/elementwise.h"

namespace qtool::runtime {
namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// log Σ exp(x), in double: a greedy hypothesis's score adds one log p per token.
double log_sum_exp(const float* x, int n) {
  const float m = *std::max_element(x, x + n);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i] - m));
  return m + std::log(sum);
}
// Every id the generation rules always mask (pad, one-token bad words): the
// rules' −inf and greedy's argmax-only steps leave out the same ids.
template <typename F>
void for_each_masked_id(const ModelConfig& c, F&& f) {
  f(c.pad_id);
  for (const auto& seq : c.bad_words_ids)
    if (seq.size() == 1) f(seq[0]);
}
}  // namespace

int max_new_tokens(const SearchOptions& opt, const ModelConfig& c) {
  return opt.max_new_tokens > 0 ? opt.max_new_tokens : std::max(1, c.max_length - 1);
}

void apply_generation_rules(const ModelConfig& c, int generated, const SearchOptions& opt,
                            float* scores) {
  const int V = c.decoder_vocab_size;
  for_each_masked_id(c, [&](int id) { scores[id] = kNegInf; });
  if (c.forced_eos_id >= 0 && generated + 1 >= max_new_tokens(opt, c)) {
    const float keep = scores[c.forced_eos_id];
    std::fill(scores, scores + V, kNegInf);
    scores[c.forced_eos_id] = keep;
  }
}

std::vector<std::vector<Hypothesis>> greedy_search_hypotheses(const MarianModel& model, const EncoderOutput& enc,
                                                              const SearchOptions& opt) {
  const ModelConfig& c = model.config();
  const int V = c.decoder_vocab_size;
  std::vector<int64_t> rows(enc.batch);
  std::iota(rows.begin(), rows.end(), 0);
  DecoderState state = model.start_decoding(enc, rows);
  std::vector<std::vector<Hypothesis>> out(enc.batch, std::vector<Hypothesis>(1));
  std::vector<int> tokens(enc.batch, c.decoder_start_id);
  std::vector<float> logits;
  std::vector<int> choice;
  // The rules' −inf without a forced eos: the ids the argmax leaves out.
  std::vector<int> masked;
  for_each_masked_id(c, [&](int id) { masked.push_back(id); });
  for (int generated = 0; state.rows() > 0; ++generated) {
    // Without scores only each row's argmax is needed, and the output
    // projection finds it without writing the logits (Linear::forward_argmax).
    const bool forced_eos = c.forced_eos_id >= 0 && generated + 1 >= max_new_tokens(opt, c);
    const bool argmax_only = !opt.greedy_scores && !forced_eos;
    choice.resize(state.rows());
    if (argmax_only) model.decode_step_argmax(state, tokens, masked, choice.data());
    else model.decode_step(state, tokens, logits);
    std::vector<int64_t> keep;
    std::vector<int> next;
    for (int64_t r = 0; r < state.rows(); ++r) {
      float* row = argmax_only ? nullptr : logits.data() + r * V;
      // log p over the whole distribution, before the rules mask tokens, as
      // beam search scores; the choice itself stays an argmax of the logits.
      const double log_z = opt.greedy_scores ? log_sum_exp(row, V) : 0.0;
      if (!argmax_only) {
        apply_generation_rules(c, generated, opt, row);
        choice[r] = static_cast<int>(vec_ops().argmax(row, V));  // first max, as torch.argmax
      }
      const int best = choice[r];
      Hypothesis& h = out[state.sentence[r]][0];
      if (opt.greedy_scores) h.score += row[best] - log_z;
      if (best != c.eos_id) h.ids.push_back(best);
      if (best == c.eos_id || generated + 1 >= max_new_tokens(opt, c)) {  // finished
        if (opt.greedy_scores) h.score /= std::pow(static_cast<double>(h.ids.size() + 1), opt.length_penalty);
        continue;
      }
      keep.push_back(r);
      next.push_back(best);
    }
    if (static_cast<int64_t>(keep.size()) != state.rows()) MarianModel::select_rows(state, keep);
    tokens.swap(next);
  }
  return out;
}

std::vector<std::vector<int>> greedy_search(const MarianModel& model, const EncoderOutput& enc,
                                            const SearchOptions& opt) {
  SearchOptions o = opt;
  o.greedy_scores = false;
  std::vector<std::vector<int>> ids;
  for (auto& hyps : greedy_search_hypotheses(model, enc, o)) ids.push_back(std::move(hyps[0].ids));
  return ids;
}

std::vector<std::vector<int>> beam_search(const MarianModel& model, const EncoderOutput& enc,
                                          const SearchOptions& opt) {
  SearchOptions o = opt;
  o.num_hypotheses = 1;
  std::vector<std::vector<int>> ids;
  for (auto& hyps : beam_search_hypotheses(model, enc, o))
    ids.push_back(hyps.empty() ? std::vector<int>{} : std::move(hyps[0].ids));
  return ids;
}

}  // namespace qtool::runtime
