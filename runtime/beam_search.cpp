// Beam search as Hugging Face generate() does it (BeamSearchScorer semantics):
// each step ranks the 2·K best (beam, token) continuations of a sentence by
// accumulated log-probability; an eos among the first K ranks closes a
// hypothesis scored sum_logprobs / length^length_penalty; the other
// continuations fill the K live beams. With early_stopping a sentence is done
// once K hypotheses are closed.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "runtime/ops/elementwise.h"
#include "runtime/search.h"

namespace qtool::runtime {
namespace {

struct Finished {
  double score;
  std::vector<int> ids;
};

// Keeps the K best closed hypotheses, as BeamHypotheses.add does.
struct FinishedSet {
  size_t k;
  std::vector<Finished> items;
  double worst = 1e9;

  void add(std::vector<int> ids, double sum_logprobs, size_t length, double length_penalty) {
    const double score = sum_logprobs / std::pow(static_cast<double>(length), length_penalty);
    if (items.size() < k || score > worst) {
      items.push_back({score, std::move(ids)});
      if (items.size() > k) {
        auto w = std::min_element(items.begin(), items.end(),
                                  [](const Finished& a, const Finished& b) { return a.score < b.score; });
        items.erase(w);
        worst = std::min_element(items.begin(), items.end(), [](const Finished& a, const Finished& b) {
                  return a.score < b.score;
                })->score;
      } else {
        worst = std::min(score, worst);
      }
    }
  }
  // Best first: sorted(...)[-1] is the highest score, the later one on a tie,
  // so ties rank the later hypothesis first.
  std::vector<Hypothesis> ranked(size_t n) {
    std::vector<size_t> order(items.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return items[a].score > items[b].score || (items[a].score == items[b].score && a > b);
    });
    std::vector<Hypothesis> out;
    for (size_t i = 0; i < std::min(n, order.size()); ++i)
      out.push_back({std::move(items[order[i]].ids), items[order[i]].score});
    return out;
  }
};

struct Candidate {
  float score;
  int64_t flat;  // beam * V + token, the index torch.topk sees
};

}  // namespace

std::vector<std::vector<Hypothesis>> beam_search_hypotheses(const MarianModel& model, const EncoderOutput& enc,
                                                            const SearchOptions& opt) {
  const ModelConfig& c = model.config();
  const int64_t V = c.decoder_vocab_size;
  const size_t K = static_cast<size_t>(opt.beam_size);
  const int64_t B = enc.batch;

  // The first step runs one row per sentence: HF's other beams start at -1e9 and
  // cannot enter the top 2K, so their rows would be wasted work.
  std::vector<int64_t> rows(B);
  std::iota(rows.begin(), rows.end(), 0);
  DecoderState state = model.start_decoding(enc, rows);
  std::vector<int> tokens(B, c.decoder_start_id);
  std::vector<std::vector<int>> hyp(B);     // tokens of each live row
  std::vector<double> beam_score(B, 0.0);  // accumulated log-prob of each live row
  std::vector<FinishedSet> finished(B, FinishedSet{K, {}});
  std::vector<bool> done(B, false);
  std::vector<float> logits;

  for (int generated = 0; state.rows() > 0; ++generated) {
    model.decode_step(state, tokens, logits);
    for (int64_t r = 0; r < state.rows(); ++r) {
      float* row = logits.data() + r * V;
      log_softmax(row, V);
      apply_generation_rules(c, generated, opt, row);
    }
    // Rows of one sentence are contiguous; walk sentence by sentence.
    std::vector<int64_t> next_rows;
    std::vector<int> next_tokens;
    std::vector<std::vector<int>> next_hyp;
    std::vector<double> next_score;
    const bool last = generated + 1 >= max_new_tokens(opt, c);
    for (int64_t r0 = 0; r0 < state.rows();) {
      const int64_t b = state.sentence[r0];
      int64_t r1 = r0;
      while (r1 < state.rows() && state.sentence[r1] == b) ++r1;
      // Top 2K over (beam, token), ties to the lower flat index.
      std::vector<Candidate> cand;
      const size_t want = 2 * K;
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = logits.data() + r * V;
        std::vector<Candidate> local(V);
        for (int64_t v = 0; v < V; ++v)
          local[v] = {static_cast<float>(row[v] + beam_score[r]), (r - r0) * V + v};
        const size_t n = std::min<size_t>(want, V);
        std::partial_sort(local.begin(), local.begin() + n, local.end(),
                          [](const Candidate& a, const Candidate& b) {
                            return a.score > b.score || (a.score == b.score && a.flat < b.flat);
                          });
        cand.insert(cand.end(), local.begin(), local.begin() + n);
      }
      std::sort(cand.begin(), cand.end(), [](const Candidate& a, const Candidate& b) {
        return a.score > b.score || (a.score == b.score && a.flat < b.flat);
      });
      if (cand.size() > want) cand.resize(want);

      size_t kept = 0;
      for (size_t rank = 0; rank < cand.size() && kept < K; ++rank) {
        const int64_t src = r0 + cand[rank].flat / V;
        const int token = static_cast<int>(cand[rank].flat % V);
        if (token == c.eos_id) {
          if (rank >= K) continue;
          finished[b].add(hyp[src], cand[rank].score, hyp[src].size() + 1, opt.length_penalty);
        } else {
          next_rows.push_back(src);
          next_tokens.push_back(token);
          std::vector<int> h = hyp[src];
          h.push_back(token);
          next_hyp.push_back(std::move(h));
          next_score.push_back(cand[rank].score);
          ++kept;
        }
      }
      done[b] = opt.early_stopping ? finished[b].items.size() >= K : false;
      if (done[b] || last) {
        // Drop this sentence's new rows; at the limit the live beams close as they are.
        const size_t first = next_rows.size() - kept;
        if (!done[b])
          for (size_t i = first; i < next_rows.size(); ++i)
            finished[b].add(next_hyp[i], next_score[i], next_hyp[i].size() + 1, opt.length_penalty);
        done[b] = true;
        next_rows.resize(first);
        next_tokens.resize(first);
        next_hyp.resize(first);
        next_score.resize(first);
      }
      r0 = r1;
    }
    MarianModel::select_rows(state, next_rows);
    tokens.swap(next_tokens);
    hyp.swap(next_hyp);
    beam_score.swap(next_score);
  }
  const size_t n = static_cast<size_t>(std::max(1, opt.num_hypotheses));
  std::vector<std::vector<Hypothesis>> out(B);
  for (int64_t b = 0; b < B; ++b) out[b] = finished[b].ranked(n);
  return out;
}

}  // namespace qtool::runtime
