// qtool: import, calibrate, quantize, pack and run Transformer translation models.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "util/error.h"
#include "util/file.h"

int main(int argc, char** argv) {
  qtool::remove_temporaries_on_interrupt();  // Ctrl-C leaves no temporary files behind
  CLI::App app{"qtool — make trained Marian translation models small and fast on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qtool 0.1.0");
  qtool::cli::add_calibrate(app);
  qtool::cli::add_quantize(app);
  qtool::cli::add_search(app);
  qtool::cli::add_count_tokens(app);
  qtool::cli::add_translate(app);
  qtool::cli::add_eval_bleu(app);
  qtool::cli::add_bench(app);
  qtool::cli::add_bench_gemm(app);
  qtool::cli::add_inspect(app);
  qtool::cli::add_pipeline(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qtool: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
