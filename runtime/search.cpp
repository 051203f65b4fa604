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
}

void apply_generation_rules(const ModelConfig& c, int generated, const SearchOptions& opt,
                            float* scores) {
  const int V = c.decoder_vocab_size;
  scores[c.pad_id] = kNegInf;
  for (const auto& seq : c.bad_words_ids)
    if (seq.size() == 1) scores[seq[0]] = kNegInf;
  if (c.forced_eos_id >= 0 && generated + 1 >= opt.max_new_tokens) {
    const float keep = scores[c.forced_eos_id];
    std::fill(scores, scores + V, kNegInf);
    scores[c.forced_eos_id] = keep;
  }
}

std::vector<std::vector<int>> greedy_search(const MarianModel& model, const EncoderOutput& enc,
                                            const SearchOptions& opt) {
  const ModelConfig& c = model.config();
  const int V = c.decoder_vocab_size;
  std::vector<int64_t> rows(enc.batch);
  std::iota(rows.begin(), rows.end(), 0);
  DecoderState state = model.start_decoding(enc, rows);
  std::vector<std::vector<int>> out(enc.batch);
  std::vector<int> tokens(enc.batch, c.decoder_start_id);
  std::vector<float> logits;
  for (int generated = 0; state.rows() > 0; ++generated) {
    model.decode_step(state, tokens, logits);
    std::vector<int64_t> keep;
    std::vector<int> next;
    for (int64_t r = 0; r < state.rows(); ++r) {
      float* row = logits.data() + r * V;
      apply_generation_rules(c, generated, opt, row);
      const int best = static_cast<int>(vec_ops().argmax(row, V));  // first max, as torch.argmax
      if (best != c.eos_id) out[state.sentence[r]].push_back(best);
      if (best == c.eos_id || generated + 1 >= opt.max_new_tokens) continue;  // finished
      keep.push_back(r);
      next.push_back(best);
    }
    if (static_cast<int64_t>(keep.size()) != state.rows()) MarianModel::select_rows(state, keep);
    tokens.swap(next);
  }
  return out;
}

}  // namespace qtool::runtime
