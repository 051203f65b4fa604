#include "runtime/translator.h"

#include <omp.h>

#include <algorithm>
#include <numeric>

#include "util/progress.h"

namespace qtool::runtime {

void set_num_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}
int num_threads() { return omp_get_max_threads(); }

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

std::vector<std::vector<int>> Translator::translate_ids(const std::vector<std::vector<int>>& sources,
                                                        const TranslateOptions& opt) const {
  // Longest first, so each batch pads little and the slowest batch starts early.
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sources[a].size() > sources[b].size(); });
  std::vector<std::vector<int>> out(sources.size());
  Progress progress("translating", static_cast<int64_t>(sources.size()), opt.progress);
  const size_t batch = static_cast<size_t>(std::max(1, opt.batch_size));
  for (size_t begin = 0; begin < order.size(); begin += batch) {
    const size_t end = std::min(order.size(), begin + batch);
    std::vector<std::vector<int>> src;
    for (size_t i = begin; i < end; ++i) src.push_back(sources[order[i]]);
    EncoderOutput enc = model_->encode(src);
    auto hyps = opt.search.beam_size > 1 ? beam_search(*model_, enc, opt.search)
                                         : greedy_search(*model_, enc, opt.search);
    for (size_t i = begin; i < end; ++i) out[order[i]] = std::move(hyps[i - begin]);
    progress.advance(static_cast<int64_t>(end - begin));
  }
  progress.finish();
  return out;
}

std::vector<std::string> Translator::translate(const std::vector<std::string>& lines,
                                               const TranslateOptions& opt,
                                               TranslateStats* stats) const {
  std::vector<std::vector<int>> sources;
  sources.reserve(lines.size());
  for (const std::string& l : lines) sources.push_back(encode_source(l));
  std::vector<std::vector<int>> ids = translate_ids(sources, opt);
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
