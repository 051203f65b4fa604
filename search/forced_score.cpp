#include "search/forced_score.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "runtime/parallel.h"

namespace qtool::search {
namespace {

// Σ NLL and the token count of sentences `ids` (one batch), teacher-forced.
std::pair<double, int64_t> batch_nll(const runtime::MarianModel& model, const std::vector<std::vector<int>>& sources,
                                     const std::vector<std::vector<int>>& targets, const std::vector<size_t>& ids) {
  const ModelConfig& c = model.config();
  std::vector<std::vector<int>> src;
  for (size_t i : ids) src.push_back(sources[i]);
  const runtime::EncoderOutput enc = model.encode(src);
  std::vector<int64_t> rows(src.size());
  std::iota(rows.begin(), rows.end(), 0);
  runtime::DecoderState state = model.start_decoding(enc, rows);
  size_t longest = 0;
  for (size_t i : ids) longest = std::max(longest, targets[i].size() + 1);
  std::vector<int> feed(src.size(), c.decoder_start_id);
  std::vector<float> logits;
  double nll = 0.0;
  int64_t tokens = 0;
  for (size_t t = 0; t < longest; ++t) {
    model.decode_step(state, feed, logits);
    const int64_t v = int64_t(logits.size() / src.size());
    for (size_t r = 0; r < src.size(); ++r) {
      const std::vector<int>& y = targets[ids[r]];
      if (t > y.size()) {
        feed[r] = c.pad_id;  // finished: keeps the row busy, not scored
        continue;
      }
      const int want = t < y.size() ? y[t] : c.eos_id;
      const float* l = logits.data() + int64_t(r) * v;
      float top = l[0];
      for (int64_t k = 1; k < v; ++k) top = std::max(top, l[k]);
      double sum = 0.0;
      for (int64_t k = 0; k < v; ++k) sum += std::exp(double(l[k]) - top);
      nll += std::log(sum) + top - double(l[want]);
      ++tokens;
      feed[r] = want;
    }
  }
  return {nll, tokens};
}

}  // namespace

double forced_nll(const runtime::MarianModel& model, const std::vector<std::vector<int>>& sources,
                  const std::vector<std::vector<int>>& targets, int batch, int streams) {
  // Longest targets first, so a batch pads little and the slowest starts early.
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return targets[a].size() > targets[b].size(); });
  std::vector<std::vector<size_t>> batches;
  for (size_t b0 = 0; b0 < order.size(); b0 += size_t(std::max(batch, 1)))
    batches.emplace_back(order.begin() + b0, order.begin() + std::min(order.size(), b0 + size_t(std::max(batch, 1))));
  std::vector<std::pair<double, int64_t>> parts(batches.size());
  const size_t n = std::min<size_t>(size_t(streams > 0 ? streams : runtime::num_threads()), batches.size());
  if (n <= 1) {
    for (size_t b = 0; b < batches.size(); ++b) parts[b] = batch_nll(model, sources, targets, batches[b]);
  } else {
    // As Translator's streams: each thread takes whole batches, its kernels on itself alone.
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::exception_ptr error;
    auto stream = [&] {
      const runtime::ThreadLimit one(1);
      for (size_t b; (b = next.fetch_add(1)) < batches.size();) {
        try {
          parts[b] = batch_nll(model, sources, targets, batches[b]);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!error) error = std::current_exception();
        }
      }
    };
    std::vector<std::thread> threads;
    for (size_t i = 0; i < n; ++i) threads.emplace_back(stream);
    for (std::thread& t : threads) t.join();
    if (error) std::rethrow_exception(error);
  }
  double nll = 0.0;  // summed in batch order: the same result for any number of streams
  int64_t tokens = 0;
  for (const auto& [s, t] : parts) nll += s, tokens += t;
  return tokens ? nll / double(tokens) : 0.0;
}

}  // namespace qtool::search
