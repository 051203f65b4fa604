#include "runtime/translator.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "util/error.h"
#include "util/progress.h"

namespace qtool::runtime {

Translator::Translator(std::shared_ptr<const MarianModel> model, std::shared_ptr<const Vocabulary> vocab)
    : model_(std::move(model)), vocab_(std::move(vocab)) {}

std::vector<int> Translator::encode_source(const std::string& line) const {
  std::vector<int> ids = vocab_->encode(line);
  const size_t limit = static_cast<size_t>(model_->config().max_position_embeddings);
  if (ids.size() > limit) {
    ids.resize(limit);
    ids.back() = vocab_->eos_id();
  }
  return ids;
}

int choose_streams(int requested, size_t batches, int batch_size, int threads) {
  if (requested > 0) return requested;
  if (threads <= 1 || batch_size <= 1 || batches < 2 * static_cast<size_t>(threads)) return 1;
  return threads;
}

std::vector<std::vector<int>> Translator::translate_ids(const std::vector<std::vector<int>>& sources,
                                                        const TranslateOptions& opt, TranslateStats* stats) const {
  TranslateOptions o = opt;
  o.search.num_hypotheses = 1;
  o.search.greedy_scores = false;
  std::vector<std::vector<int>> out;
  out.reserve(sources.size());
  for (auto& hyps : translate_hypotheses(sources, o, stats)) out.push_back(std::move(hyps[0].ids));
  return out;
}

std::vector<std::vector<Hypothesis>> Translator::translate_hypotheses(const std::vector<std::vector<int>>& sources,
                                                                      const TranslateOptions& opt,
                                                                      TranslateStats* stats) const {
  // Longest first, so each batch pads little and the slowest batch starts early.
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sources[a].size() > sources[b].size(); });
  // Bin packing: consecutive sentences (sorted by length) fill a batch until it
  // holds batch_size sentences or its padded size (count × longest) would pass
  // max_batch_tokens, so short sentences travel in large batches, long ones in small.
  std::vector<std::pair<size_t, size_t>> batches;
  const size_t cap = static_cast<size_t>(std::max(1, opt.batch_size));
  for (size_t begin = 0; begin < order.size();) {
    const size_t longest = sources[order[begin]].size();
    size_t end = begin + 1;
    while (end < order.size() && end - begin < cap &&
           (opt.max_batch_tokens <= 0 || (end - begin + 1) * longest <= size_t(opt.max_batch_tokens)))
      ++end;
    batches.push_back({begin, end});
    begin = end;
  }
  std::vector<std::vector<Hypothesis>> out(sources.size());
  const auto total = static_cast<int64_t>(sources.size());
  Progress progress("translating", total, opt.progress);
  int64_t done = 0;
  bool cancelled = false;
  // After a batch (under the streams' lock): the progress line and the caller's callback.
  auto advance = [&](size_t b) {
    const auto n = static_cast<int64_t>(batches[b].second - batches[b].first);
    progress.advance(n);
    done += n;
    if (opt.on_progress && !cancelled && !opt.on_progress(done, total)) cancelled = true;
  };
  auto run = [&](size_t b) {
    const auto [begin, end] = batches[b];
    std::vector<std::vector<int>> src;
    for (size_t i = begin; i < end; ++i) src.push_back(sources[order[i]]);
    EncoderOutput enc = model_->encode(src);
    auto hyps = opt.search.beam_size > 1 ? beam_search_hypotheses(*model_, enc, opt.search)
                                         : greedy_search_hypotheses(*model_, enc, opt.search);
    for (size_t i = begin; i < end; ++i) {
      out[order[i]] = std::move(hyps[i - begin]);
      if (out[order[i]].empty()) out[order[i]].emplace_back();  // no beam finished: an empty output
    }
  };
  // An observed model (calibration) reports from one thread, in batch order.
  const int streams = model_->observed() ? 1 : choose_streams(opt.streams, batches.size(), opt.batch_size, num_threads());
  if (stats) stats->streams = streams;
  if (streams <= 1) {
    for (size_t b = 0; b < batches.size() && !cancelled; ++b) {
      run(b);
      advance(b);
    }
  } else {
    // Each stream is a thread running whole batches, largest first, taken from
    // a shared counter; its kernels run on that thread alone (ThreadLimit).
    std::atomic<size_t> next{0};
    std::mutex mu;  // guards error and progress
    std::exception_ptr error;
    auto stream = [&] {
      const ThreadLimit one(1);
      for (size_t b; (b = next.fetch_add(1)) < batches.size();) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (cancelled || error) break;
        }
        try {
          run(b);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!error) error = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(mu);
        try {
          advance(b);
        } catch (...) {  // the caller's callback threw
          if (!error) error = std::current_exception();
        }
      }
    };
    std::vector<std::thread> threads;
    const size_t n = std::min<size_t>(static_cast<size_t>(streams), batches.size());
    for (size_t i = 0; i < n; ++i) threads.emplace_back(stream);
    for (std::thread& t : threads) t.join();
    if (error) std::rethrow_exception(error);
  }
  if (cancelled && done < total) throw Error("translation cancelled");  // (false after the last batch cancels nothing)
  progress.finish();
  return out;
}

std::vector<std::string> Translator::translate(const std::vector<std::string>& lines,
                                               const TranslateOptions& opt,
                                               TranslateStats* stats) const {
  std::vector<std::vector<int>> sources;
  sources.reserve(lines.size());
  for (const std::string& l : lines) sources.push_back(encode_source(l));
  std::vector<std::vector<int>> ids = translate_ids(sources, opt, stats);
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const auto& o : ids) out.push_back(vocab_->decode(o));
  if (stats) {
    stats->sentences += static_cast<int64_t>(lines.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      stats->source_tokens += static_cast<int64_t>(sources[i].size());
      stats->target_tokens += static_cast<int64_t>(ids[i].size()) + 1;  // + eos
    }
  }
  return out;
}

}  // namespace qtool::runtime
