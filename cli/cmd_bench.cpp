#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "pipeline/model_loader.h"
#include "cli/options.h"
#include "runtime/kernels/cpu_features.h"
#include "util/peak_rss.h"

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
    runtime::TranslateStats st;
    m.translator().translate(lines, topt, &st);
    auto t2 = std::chrono::steady_clock::now();
    const double load = std::chrono::duration<double>(t1 - t0).count();
    const double wall = std::chrono::duration<double>(t2 - t1).count();
    nlohmann::json j = {
        {"model", opt->model},
        {"model_file_bytes", m.file_bytes},
        {"sentences", st.sentences},
        {"source_tokens", st.source_tokens},
        {"target_tokens", st.target_tokens},
        {"load_seconds", load},
        {"wall_seconds", wall},
        {"target_tokens_per_second", st.target_tokens / wall},
        {"ms_per_sentence", 1000.0 * wall / st.sentences},
        {"peak_rss_bytes", peak_rss_bytes()},
        {"threads", runtime::num_threads()},
        {"streams", st.streams},
        {"batch", opt->batch},
        {"beam", opt->beam},
        {"kernels", runtime::kernel_description()},
    };
    if (*as_json) {
      std::cout << j.dump(1) << "\n";
    } else {
      std::printf("%lld sentences, %lld target tokens in %.3f s: %.1f tokens/s, %.2f ms/sentence, "
                  "peak RSS %.1f MiB (%d threads, %d streams, batch %d, beam %d)\n%s\n",
                  static_cast<long long>(st.sentences), static_cast<long long>(st.target_tokens), wall,
                  st.target_tokens / wall, 1000.0 * wall / st.sentences,
                  peak_rss_bytes() / 1048576.0, runtime::num_threads(), st.streams, opt->batch, opt->beam,
                  runtime::kernel_description().c_str());
    }
  });
}

}  // namespace qtool::cli
