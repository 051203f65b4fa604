// qtool-run: the device runtime's whole command line. It translates with a packed
// .qtm model (which carries its tokenizer) and links only util/, model/ and
// runtime/ — no checkpoint readers, no HDF5, no quantization stages — so it is
// what ships to a phone or a board, as one static executable (cli/CMakeLists.txt).
// `qtool translate` gives the same output; `--bench` prints `qtool bench`'s figures.
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/bench_report.h"
#include "cli/options.h"
#include "model/qtm.h"
#include "runtime/kernels/cpu_features.h"
#include "util/error.h"
#include "util/file.h"
#include "util/peak_rss.h"

int main(int argc, char** argv) {
  using namespace qtool;
  CLI::App app{"qtool-run — translate with a packed .qtm model (the device runtime)"};
  app.set_version_flag("--version", "qtool-run 0.1.0");
  cli::RunOptions opt;
  std::string input, output;
  int limit = 0;
  bool bench = false, as_json = false;
  app.add_option("--model", opt.model, "Packed model (.qtm)")->required();
  app.add_option("--input", input, "Source text, one sentence per line")->required();
  auto* out_opt = app.add_option("--output", output, "Where to write the translations (written atomically)");
  // On a device qtool-run is the only program there is: it measures itself.
  app.add_flag("--bench", bench, "Print speed and peak memory as `qtool bench` does, instead of writing translations")
      ->excludes(out_opt);
  app.add_flag("--json", as_json, "With --bench: the figures as JSON");
  app.add_option("--sentences", limit, "Translate only the first N lines (0 = all)")->check(CLI::Range(0, 1 << 30));
  app.add_option("--beam", opt.beam, "Beam size (1 = greedy)")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--batch", opt.batch, "Sentences per batch (sorted by length)")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--threads", opt.threads, "Worker threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  app.add_option("--max-new-tokens", opt.max_new_tokens, "Longest output, eos included (0 = the model's generation max_length - 1, as transformers)")->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_flag("--quiet", opt.quiet, "No progress display");
  try {
    app.parse(argc, argv);
    if (!bench && output.empty()) throw Error("give --output FILE for the translations, or --bench");
    if (as_json && !bench) throw Error("--json goes with --bench");
    if (!bench) check_distinct(input, output);
    std::vector<std::string> lines = cli::read_input_lines(input);
    if (limit > 0 && static_cast<size_t>(limit) < lines.size()) lines.resize(limit);
    if (!looks_like_qtm(opt.model)) throw Error(opt.model + ": not a .qtm model (qtool-run reads packed models only)");
    const auto t0 = std::chrono::steady_clock::now();
    QtmModel q = read_qtm(opt.model);
    MarianWeights w = qtm_weights(q, opt.model);
    auto vocab = std::make_shared<const Vocabulary>(std::move(q.vocab), w.config.vocab_size, w.config.decoder_vocab_size);
    auto model = std::make_shared<const runtime::MarianModel>(std::move(w));
    const auto t1 = std::chrono::steady_clock::now();
    runtime::TranslateStats stats;
    std::vector<std::string> out = runtime::Translator(model, vocab).translate(lines, cli::translate_options(opt), &stats);
    const auto t2 = std::chrono::steady_clock::now();
    if (bench) {
      const cli::BenchRun run{opt.model, static_cast<int64_t>(std::filesystem::file_size(opt.model)), stats,
                              std::chrono::duration<double>(t1 - t0).count(),
                              std::chrono::duration<double>(t2 - t1).count(), opt.batch, opt.beam};
      cli::print_bench(run, as_json);
      return 0;
    }
    AtomicOutput file(output);
    for (const std::string& l : out) file.stream() << l << '\n';
    file.commit();
    std::fprintf(stderr, "translated %lld sentences (%lld target tokens) in %.2f s, load %.2f s, peak RSS %.1f MiB → %s\n%s\n",
                 static_cast<long long>(stats.sentences), static_cast<long long>(stats.target_tokens),
                 std::chrono::duration<double>(t2 - t1).count(), std::chrono::duration<double>(t1 - t0).count(),
                 peak_rss_bytes() / 1048576.0, output.c_str(), runtime::kernel_description().c_str());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qtool-run: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
