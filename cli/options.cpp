#include "cli/options.h"

#include "util/error.h"
#include "util/file.h"

namespace qtool::cli {

void add_run_options(CLI::App& cmd, RunOptions& opt) {
  cmd.add_option("--beam", opt.beam, "Beam size (1 = greedy)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd.add_option("--batch", opt.batch, "Sentences per batch (sorted by length)")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd.add_option("--batch-tokens", opt.batch_tokens, "Also cap each batch at this many padded source tokens (0 = no cap)")->check(CLI::Range(0, 1 << 24))->capture_default_str();
  cmd.add_option("--streams", opt.streams, "Batches translated concurrently, one thread each (1 = one batch at a time on all threads; 0 = one per thread when batches hold several sentences and there are two per thread)")->check(CLI::Range(0, 256))->capture_default_str();
  cmd.add_option("--threads", opt.threads, "Worker threads (0 = the CPUs this process may use: affinity and cgroup quota)")->check(CLI::Range(0, 1024))->capture_default_str();
  cmd.add_option("--max-new-tokens", opt.max_new_tokens, "Longest output, eos included (0 = the model's generation max_length - 1, as transformers)")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd.add_option("--length-penalty", opt.length_penalty, "Beam score = log-prob / length^this")->capture_default_str();
  cmd.add_flag("--quiet", opt.quiet, "No progress display");
  cmd.add_option("--quantize", opt.quantize,
                 "Quantize a checkpoint's linear layers in memory at load: none, int8 (per-channel weights, "
                 "dynamic per-token activations), int8-tensor (per-tensor weights)")
      ->check(CLI::IsMember({"none", "int8", "int8-tensor"}))
      ->capture_default_str();
}

runtime::TranslateOptions translate_options(const RunOptions& opt) {
  runtime::set_num_threads(opt.threads);
  runtime::TranslateOptions t;
  t.search.beam_size = opt.beam;
  t.search.max_new_tokens = opt.max_new_tokens;
  t.search.length_penalty = opt.length_penalty;
  t.batch_size = opt.batch;
  t.max_batch_tokens = opt.batch_tokens;
  t.streams = opt.streams;
  t.progress = !opt.quiet;
  return t;
}

TranslatorOptions translator_options(const RunOptions& opt) {
  TranslatorOptions t;
  t.quantize = opt.quantize;
  t.threads = opt.threads;
  t.beam_size = opt.beam;
  t.max_new_tokens = opt.max_new_tokens;
  t.length_penalty = opt.length_penalty;
  t.batch_size = opt.batch;
  t.max_batch_tokens = opt.batch_tokens;
  t.streams = opt.streams;
  t.show_progress = !opt.quiet;
  return t;
}

std::vector<std::string> read_input_lines(const std::string& path) {
  std::vector<std::string> lines = read_lines(path);
  if (lines.empty()) fail(path, "input file is empty");
  return lines;
}

}  // namespace qtool::cli
