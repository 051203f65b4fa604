// Text in, text out: tokenization through the model's Vocabulary, sentences
// sorted by length and cut into batches, each batch encoded once and searched.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/vocabulary.h"
#include "runtime/model.h"
#include "runtime/parallel.h"  // set_num_threads, ThreadLimit
#include "runtime/search.h"

namespace qtool::runtime {

struct TranslateOptions {
  SearchOptions search;
  int batch_size = 32;       // sentences per batch (the cap)
  int max_batch_tokens = 0;  // also cap sentences × longest source per batch (0: no cap)
  // Batches run concurrently on this many streams, each single-threaded (the
  // paper's parallel batching); 1 = one batch at a time using every thread;
  // 0 = choose_streams() picks. A model with an observer (calibration) always
  // runs one stream: its observer is called from one thread, in batch order.
  int streams = 0;
  bool progress = true;  // on a terminal only
  // Called after each batch with sentences done and the total (under a lock
  // when streams > 1); returning false stops the translation: batches not yet
  // started are skipped and Error("translation cancelled") is thrown (unless
  // none were left).
  std::function<bool(int64_t done, int64_t total)> on_progress;
};

struct TranslateStats {
  int64_t sentences = 0, source_tokens = 0, target_tokens = 0;
  int streams = 0;  // the streams the last call ran (0: no call yet)
};

// The streams for `requested` (0 = automatic) over `batches` batches of at most
// `batch_size` sentences with `threads` threads. Automatic: one stream per
// thread when batches hold more than one sentence and there are at least two
// per thread, else one. A stream needs no other thread until its batch is done,
// so batch throughput gains 10–30% on a quiet CPU and keeps a second thread's
// worth beside a busy process, where threads splitting each product have to
// wait for the one the OS took off the CPU (docs/benchmarks.md). A batch of one
// sentence is a latency request: it gets every thread.
int choose_streams(int requested, size_t batches, int batch_size, int threads);

class Translator {
 public:
  Translator(std::shared_ptr<const MarianModel> model, std::shared_ptr<const Vocabulary> vocab);

  std::vector<std::string> translate(const std::vector<std::string>& lines,
                                     const TranslateOptions& opt, TranslateStats* stats = nullptr) const;
  // Source ids (</s> included) → output ids (no start token, no eos), in input order.
  // `stats`, if given, gets the streams used (translate() also counts tokens).
  std::vector<std::vector<int>> translate_ids(const std::vector<std::vector<int>>& sources,
                                              const TranslateOptions& opt, TranslateStats* stats = nullptr) const;
  // The same with scores and n-best (opt.search.num_hypotheses): per source,
  // its hypotheses best first, at least one.
  std::vector<std::vector<Hypothesis>> translate_hypotheses(const std::vector<std::vector<int>>& sources,
                                                            const TranslateOptions& opt,
                                                            TranslateStats* stats = nullptr) const;
  // Source ids for a line, cut to the model's position limit (keeping </s> last).
  std::vector<int> encode_source(const std::string& line) const;

  const MarianModel& model() const { return *model_; }
  const Vocabulary& vocabulary() const { return *vocab_; }

 private:
  std::shared_ptr<const MarianModel> model_;
  std::shared_ptr<const Vocabulary> vocab_;
};

}  // namespace qtool::runtime
