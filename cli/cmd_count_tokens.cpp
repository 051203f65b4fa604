#include <chrono>
#include <cstdio>
#include <filesystem>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "quantize/token_counts.h"
#include "util/file.h"

namespace qtool::cli {
namespace {
int64_t ids_seen(const std::vector<int64_t>& counts) {
  int64_t n = 0;
  for (int64_t c : counts) n += c > 0;
  return n;
}
}  // namespace

void add_count_tokens(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "count-tokens", "Count token frequencies of a corpus in the model's ids (for frequency-clustered embeddings)");
  auto model = std::make_shared<std::string>();
  auto source = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("--model", *model, "Checkpoint directory (its tokenizer files are used)")->required();
  cmd->add_option("--source", *source, "Source-side corpus, one sentence per line (the training side)")->required();
  cmd->add_option("--target", *target, "Target-side corpus (the decoder's and output projection's counts)");
  cmd->add_option("--output", *output, "Counts file to write (JSON, atomically)")->required();
  cmd->add_flag("--quiet", *quiet, "No summary line");
  cmd->callback([=] {
    const auto start = std::chrono::steady_clock::now();
    // Every input is checked and read before anything is written.
    check_distinct(*source, *output);
    if (!target->empty()) check_distinct(*target, *output);
    // Nor may it replace one of the model's own files (vocab.json, …).
    if (std::filesystem::is_directory(*model))
      for (const auto& f : std::filesystem::directory_iterator(*model)) check_distinct(f.path().string(), *output);
    else
      check_distinct(*model, *output);
    const std::vector<std::string> src = read_input_lines(*source);
    const std::vector<std::string> tgt = target->empty() ? std::vector<std::string>{} : read_input_lines(*target);
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(*model);
    const ModelConfig& c = ck.weights.config;
    const Vocabulary vocab(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
    const quantize::TokenCounts counts = quantize::count_tokens(vocab, src, tgt);
    write_file_atomic(*output, quantize::to_json(counts));
    if (*quiet) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "counted %zu source lines (%lld of %zu ids seen) and %zu target lines (%lld of %zu) in %.1f s → %s\n",
                 src.size(), static_cast<long long>(ids_seen(counts.source)), counts.source.size(), tgt.size(),
                 static_cast<long long>(ids_seen(counts.target)), counts.target.size(), s, output->c_str());
  });
}

}  // namespace qtool::cli
