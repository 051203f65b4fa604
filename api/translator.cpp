// The public API over runtime::Translator: options checked and mapped, threads
// set per call, and every failure turned into the CLI's one line.
#include "qtool/translator.h"


#include <cmath>
#include <exception>

#include "api/load_model.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/translator.h"
#include "util/error.h"

namespace qtool {
namespace {

// An exception the caller's progress callback threw, carried through the
// runtime and rethrown to the caller as it was.
struct CallbackFailed {
  std::exception_ptr error;
};

// Runs one public call: any exception but the caller's own leaves as
// qtool::Error carrying the line `qtool` prints for it.
template <class F>
auto guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const CallbackFailed& f) {
    std::rethrow_exception(f.error);
  } catch (const std::exception& e) {
    throw Error(std::string("qtool: error: ") + e.what());
  }
}

void check_range(const char* field, int value, int lo, int hi) {
  if (value < lo || value > hi)
    throw Error(std::string(field) + ": " + std::to_string(value) + " not in range [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
}

// The limits `qtool translate` puts on its flags.
void check_options(const TranslatorOptions& o) {
  if (o.quantize != "none" && o.quantize != "int8" && o.quantize != "int8-tensor")
    throw Error("quantize: \"" + printable(o.quantize) + "\" is not one of none, int8, int8-tensor");
  check_range("threads", o.threads, 0, 1024);
  check_range("beam_size", o.beam_size, 1, 64);
  check_range("num_hypotheses", o.num_hypotheses, 1, o.beam_size);
  check_range("max_new_tokens", o.max_new_tokens, 0, 100000);
  if (!std::isfinite(o.length_penalty)) throw Error("length_penalty: not a finite number");
  check_range("batch_size", o.batch_size, 1, 4096);
  check_range("max_batch_tokens", o.max_batch_tokens, 0, 1 << 24);
  check_range("streams", o.streams, 0, 256);
}

runtime::TranslateOptions runtime_options(const TranslatorOptions& o) {
  runtime::TranslateOptions t;
  t.search.beam_size = o.beam_size;
  t.search.max_new_tokens = o.max_new_tokens;
  t.search.length_penalty = o.length_penalty;
  t.search.num_hypotheses = o.num_hypotheses;
  t.search.greedy_scores = o.return_scores;
  t.batch_size = o.batch_size;
  t.max_batch_tokens = o.max_batch_tokens;
  t.streams = o.streams;
  t.progress = o.show_progress;
  return t;
}

}  // namespace

struct Translator::Impl {
  api::Model model;
  runtime::Translator runtime;
  TranslatorOptions options;

  Impl(api::Model m, TranslatorOptions o) : model(std::move(m)), runtime(model.model, model.vocab), options(std::move(o)) {}

  // Source ids from a caller: each must be a row of the encoder's embedding,
  // and fit the model's positions, or the encoder would read out of bounds.
  void check_sources(const std::vector<std::vector<int>>& sources) const {
    const ModelConfig& c = model.model->config();
    for (size_t i = 0; i < sources.size(); ++i) {
      const std::string where = "sources[" + std::to_string(i) + "]";
      if (sources[i].empty()) throw Error(where + ": empty (a source ends with </s>, id " + std::to_string(c.eos_id) + ")");
      if (sources[i].size() > static_cast<size_t>(c.max_position_embeddings))
        throw Error(where + ": " + std::to_string(sources[i].size()) + " ids, more than the model's " +
                    std::to_string(c.max_position_embeddings) + " positions");
      for (int id : sources[i])
        if (id < 0 || id >= c.vocab_size)
          throw Error(where + ": id " + std::to_string(id) + " is outside the source vocabulary (" +
                      std::to_string(c.vocab_size) + " ids)");
    }
  }

  std::vector<TranslationResult> run(std::vector<std::vector<int>> sources, const TranslatorOptions& o,
                                     bool with_text) const {
    check_options(o);
    check_sources(sources);
    runtime::TranslateOptions t = runtime_options(o);
    // The caller's callback may throw; its exception reaches the caller as it is.
    std::exception_ptr callback_error;
    if (o.progress)
      t.on_progress = [&](int64_t done, int64_t total) {
        try {
          return o.progress(static_cast<size_t>(done), static_cast<size_t>(total));
        } catch (...) {
          callback_error = std::current_exception();
          return false;
        }
      };
    std::vector<std::vector<runtime::Hypothesis>> hyps;
    try {
      runtime::ThreadLimit threads(o.threads);
      hyps = runtime.translate_hypotheses(sources, t);
    } catch (...) {
      if (!callback_error) throw;
    }
    if (callback_error) throw CallbackFailed{callback_error};  // (after the last batch it cancels nothing)
    std::vector<TranslationResult> out(sources.size());
    for (size_t i = 0; i < sources.size(); ++i) {
      for (runtime::Hypothesis& h : hyps[i])
        out[i].hypotheses.push_back({with_text ? model.vocab->decode(h.ids) : std::string(), std::move(h.ids), h.score});
      out[i].source_ids = std::move(sources[i]);
    }
    return out;
  }

  std::vector<TranslationResult> run_text(const std::vector<std::string>& lines, const TranslatorOptions& o) const {
    std::vector<std::vector<int>> sources;
    sources.reserve(lines.size());
    for (const std::string& l : lines) sources.push_back(runtime.encode_source(l));
    return run(std::move(sources), o, true);
  }
};

Translator::Translator(const std::string& model, TranslatorOptions options) {
  impl_ = guarded([&] {
    check_options(options);
    api::Model m = api::load_model(model, options.quantize);
    return std::make_unique<const Impl>(std::move(m), std::move(options));
  });
}
Translator::~Translator() = default;
Translator::Translator(Translator&&) noexcept = default;
Translator& Translator::operator=(Translator&&) noexcept = default;

std::vector<std::string> Translator::translate(const std::vector<std::string>& lines) const {
  return translate(lines, impl_->options);
}

std::vector<std::string> Translator::translate(const std::vector<std::string>& lines,
                                               const TranslatorOptions& options) const {
  std::vector<TranslationResult> results = translate_batch(lines, options);
  std::vector<std::string> out;
  out.reserve(results.size());
  for (TranslationResult& r : results) out.push_back(std::move(r.hypotheses.at(0).text));
  return out;
}

std::vector<TranslationResult> Translator::translate_batch(const std::vector<std::string>& lines) const {
  return translate_batch(lines, impl_->options);
}

std::vector<TranslationResult> Translator::translate_batch(const std::vector<std::string>& lines,
                                                           const TranslatorOptions& options) const {
  return guarded([&] { return impl_->run_text(lines, options); });
}

std::vector<std::vector<int>> Translator::translate_ids(const std::vector<std::vector<int>>& sources) const {
  return translate_ids(sources, impl_->options);
}

std::vector<std::vector<int>> Translator::translate_ids(const std::vector<std::vector<int>>& sources,
                                                        const TranslatorOptions& options) const {
  return guarded([&] {
    std::vector<std::vector<int>> out;
    out.reserve(sources.size());
    for (TranslationResult& r : impl_->run(sources, options, false)) out.push_back(std::move(r.hypotheses.at(0).ids));
    return out;
  });
}

std::vector<TranslationResult> Translator::translate_batch_ids(const std::vector<std::vector<int>>& sources,
                                                               const TranslatorOptions& options) const {
  return guarded([&] { return impl_->run(sources, options, true); });
}

std::vector<int> Translator::encode(const std::string& line) const {
  return guarded([&] { return impl_->runtime.encode_source(line); });
}

std::string Translator::decode(const std::vector<int>& target_ids) const {
  return guarded([&] {
    const int n = impl_->model.model->config().decoder_vocab_size;
    for (int id : target_ids)
      if (id < 0 || id >= n)
        throw Error("id " + std::to_string(id) + " is outside the target vocabulary (" + std::to_string(n) + " ids)");
    return impl_->model.vocab->decode(target_ids);
  });
}

const TranslatorOptions& Translator::options() const { return impl_->options; }
int Translator::source_vocabulary_size() const { return impl_->model.model->config().vocab_size; }
int Translator::target_vocabulary_size() const { return impl_->model.model->config().decoder_vocab_size; }
int Translator::max_source_length() const { return impl_->model.model->config().max_position_embeddings; }

const char* version() { return QTOOL_VERSION_STRING; }
std::string kernels() {
  return guarded([] { return runtime::kernel_description(); });
}
bool runtime_only() { return !api::reads_checkpoints(); }

}  // namespace qtool
