// qtool's public C++ API: the one header an application includes.
//
//   #include <qtool/translator.h>
//   qtool::TranslatorOptions opt;
//   opt.threads = 2;
//   qtool::Translator t("model.qtm", opt);          // or a checkpoint directory
//   std::vector<std::string> out = t.translate({"Hello world."});
//
// A Translator holds one loaded model and is immutable once built: any number
// of threads may call it at once. Every call throws qtool::Error, whose what()
// is the one line `qtool translate` prints. Linked as qtool::qtool
// (find_package(qtool)) or with pkg-config (`pkg-config --libs qtool`).
// docs/api.md has the whole story and a complete example.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qtool/error.h"

#define QTOOL_VERSION_MAJOR 0
#define QTOOL_VERSION_MINOR 1
#define QTOOL_VERSION_PATCH 0
#define QTOOL_VERSION_STRING "0.1.0"

namespace qtool {

// Called after each batch with the sentences done and the total (one call at a
// time); return false to cancel: the call stops after the batches under way
// and throws qtool::Error("qtool: error: translation cancelled"). An exception
// it throws reaches the caller unchanged.
using ProgressCallback = std::function<bool(std::size_t done, std::size_t total)>;

// Every field has a default; fields may be added, never renamed.
struct TranslatorOptions {
  // Read once, by the constructor.
  std::string quantize = "none";  // checkpoints only: none | int8 | int8-tensor (linear layers, in memory)

  // Defaults of every call; a call may pass its own.
  int threads = 0;              // threads of a call, 0 = the CPUs the process may use (affinity, cgroup quota)
  int beam_size = 1;            // 1 = greedy search; at most 64
  int num_hypotheses = 1;       // n-best: hypotheses kept per sentence, at most beam_size
  int max_new_tokens = 0;       // longest output, eos included; 0 = the model's generation max_length − 1
  double length_penalty = 1.0;  // score = Σ log p / (tokens + 1)^length_penalty
  int batch_size = 32;          // sentences per batch (sorted by length first)
  int max_batch_tokens = 0;     // also cap sentences × longest source per batch; 0 = no cap
  int streams = 0;              // batches translated concurrently, one thread each; 0 = automatic
  bool return_scores = false;   // greedy search: compute scores too (beam search always has them)
  bool show_progress = false;   // a progress line on stderr, when stderr is a terminal
  ProgressCallback progress;    // may be empty
};

// One output: the text, its target ids (no start token, no </s>) and its score
// (0 for greedy search unless return_scores).
struct Hypothesis {
  std::string text;
  std::vector<int> ids;
  double score = 0;
};

struct TranslationResult {
  std::vector<Hypothesis> hypotheses;  // best first; num_hypotheses of them (beam search may find fewer)
  std::vector<int> source_ids;         // what the encoder read, </s> last
};

class QTOOL_API Translator {
 public:
  // `model`: a packed .qtm file or a Hugging Face Marian checkpoint (directory or
  // .h5 beside its tokenizer files); a runtime-only build reads .qtm files only.
  explicit Translator(const std::string& model, TranslatorOptions options = {});
  ~Translator();
  Translator(Translator&&) noexcept;
  Translator& operator=(Translator&&) noexcept;

  // Text in, text out, in input order (the best hypothesis of each line).
  std::vector<std::string> translate(const std::vector<std::string>& lines) const;
  std::vector<std::string> translate(const std::vector<std::string>& lines, const TranslatorOptions& options) const;
  // Hypotheses with ids and scores, n-best with beam search.
  std::vector<TranslationResult> translate_batch(const std::vector<std::string>& lines) const;
  std::vector<TranslationResult> translate_batch(const std::vector<std::string>& lines,
                                                 const TranslatorOptions& options) const;
  // Token ids in (source ids with </s> last, as encode() gives), best ids out.
  std::vector<std::vector<int>> translate_ids(const std::vector<std::vector<int>>& sources) const;
  std::vector<std::vector<int>> translate_ids(const std::vector<std::vector<int>>& sources,
                                              const TranslatorOptions& options) const;
  std::vector<TranslationResult> translate_batch_ids(const std::vector<std::vector<int>>& sources,
                                                     const TranslatorOptions& options) const;

  // The tokenizer the model carries: a line → source ids (</s> last, cut to the
  // model's positions), target ids → text (special tokens dropped).
  std::vector<int> encode(const std::string& line) const;
  std::string decode(const std::vector<int>& target_ids) const;

  const TranslatorOptions& options() const;
  int source_vocabulary_size() const;
  int target_vocabulary_size() const;
  int max_source_length() const;  // the model's positions

 private:
  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

// The library's version, QTOOL_VERSION_STRING of the build (the header's may be older).
QTOOL_API const char* version();
// The kernels chosen for this CPU (QTOOL_ISA forces a lower level), e.g. "avx512 ...".
QTOOL_API std::string kernels();
// True when this library reads .qtm files only (built with QTOOL_RUNTIME_ONLY).
QTOOL_API bool runtime_only();

}  // namespace qtool
