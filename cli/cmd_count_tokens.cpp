#include <chrono>
#include <cstdio>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "quantize/token_counts.h"
#include "util/file.h"

namespace qtool::cli {

void add_count_tokens(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "count-tokens", "Count token frequencies of a corpus in the model's ids (for frequency-clustered embeddings)");
  auto model = std::make_shared<std::string>();
  auto source = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "Checkpoint directory (its tokenizer files are used)")->required();
  cmd->add_option("--source", *source, "Source-side corpus, one sentence per line (the training side)")->required();
  cmd->add_option("--target", *target, "Target-side corpus (the decoder's and output projection's counts)");
  cmd->add_option("--output", *output, "Counts file to write (JSON)")->required();
  cmd->callback([=] {
    const auto start = std::chrono::steady_clock::now();
    check_distinct(*source, *output);
    const std::vector<std::string> src = read_input_lines(*source);
    std::vector<std::string> tgt;
    if (!target->empty()) {
      check_distinct(*target, *output);
      tgt = read_input_lines(*target);
    }
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(*model);
    const ModelConfig& c = ck.weights.config;
    const Vocabulary vocab(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
    const quantize::TokenCounts counts = quantize::count_tokens(vocab, src, tgt);
    write_file_atomic(*output, quantize::to_json(counts));
    int64_t seen = 0;
    for (size_t i = 0; i < counts.source.size(); ++i) seen += counts.source[i] > 0 || (i < counts.target.size() && counts.target[i] > 0);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "counted %zu source and %zu target lines: %lld of %zu ids seen, %.1f s → %s\n", src.size(),
                 tgt.size(), static_cast<long long>(seen), counts.source.size(), s, output->c_str());
  });
}

}  // namespace qtool::cli
