// One function per subcommand: each registers its options on the CLI11 app and
// the callback that runs it.
#pragma once
#include <CLI/CLI.hpp>

namespace qtool::cli {

void add_translate(CLI::App& app);
void add_eval_bleu(CLI::App& app);
void add_bench(CLI::App& app);
void add_inspect(CLI::App& app);
void add_quantize(CLI::App& app);
void add_calibrate(CLI::App& app);
void add_search(CLI::App& app);
void add_count_tokens(CLI::App& app);
void add_bench_gemm(CLI::App& app);
void add_pipeline(CLI::App& app);

}  // namespace qtool::cli
