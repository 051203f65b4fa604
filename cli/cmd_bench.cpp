#include <chrono>

#include "cli/bench_report.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "pipeline/model_loader.h"

namespace qtool::cli {

void add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure translation speed and memory on a file");
  auto opt = std::make_shared<RunOptions>();
  auto input = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto limit = std::make_shared<int>(0);
  cmd->add_option("--model", opt->model, "Checkpoint directory or .h5 file")->required();
  cmd->add_option("--input", *input, "Source sentences, one per line")->required();
  cmd->add_option("--sentences", *limit, "Use only the first N lines (0 = all)");
  cmd->add_flag("--json", *as_json, "Print the figures as JSON");
  add_run_options(*cmd, *opt);
  cmd->callback([=] {
    std::vector<std::string> lines = read_input_lines(*input);
    if (*limit > 0 && static_cast<size_t>(*limit) < lines.size()) lines.resize(*limit);
    auto t0 = std::chrono::steady_clock::now();
    pipeline::LoadedModel m = pipeline::load_model(opt->model, opt->quantize);
    auto t1 = std::chrono::steady_clock::now();
    runtime::TranslateOptions topt = translate_options(*opt);
    topt.progress = !opt->quiet;  // redrawn a few times a second at most: no cost worth measuring
    BenchRun run{opt->model, m.file_bytes, {}, 0, 0, opt->batch, opt->beam};
    m.translator().translate(lines, topt, &run.stats);
    auto t2 = std::chrono::steady_clock::now();
    run.load_seconds = std::chrono::duration<double>(t1 - t0).count();
    run.wall_seconds = std::chrono::duration<double>(t2 - t1).count();
    print_bench(run, *as_json);
  });
}

}  // namespace qtool::cli
