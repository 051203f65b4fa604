#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "pipeline/model_loader.h"
#include "qtool/translator.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::cli {

// `qtool translate` is a client of the public API (include/qtool/translator.h)
// like any application, so every test of the command exercises the API.
void add_translate(CLI::App& app) {
  auto* cmd = app.add_subcommand("translate", "Translate a file, one sentence per line");
  auto opt = std::make_shared<RunOptions>();
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("--model", opt->model, "Checkpoint directory, .h5 file or packed .qtm model")->required();
  cmd->add_option("--input", *input, "Source text, one sentence per line")->required();
  cmd->add_option("--output", *output, "Where to write the translations (written atomically)")->required();
  add_run_options(*cmd, *opt);
  cmd->callback([opt, input, output] {
    check_distinct(*input, *output);
    check_distinct(pipeline::model_input_files(opt->model), *output);
    std::vector<std::string> lines = read_input_lines(*input);
    std::vector<std::string> out;
    try {
      out = Translator(opt->model, translator_options(*opt)).translate(lines);
    } catch (const Error& e) {
      // The API's message is already the whole line `qtool: error: ...`.
      std::fprintf(stderr, "%s\n", e.what());
      throw CLI::RuntimeError(1);
    }
    AtomicOutput file(*output);
    for (const std::string& l : out) file.stream() << l << '\n';
    file.commit();
    std::fprintf(stderr, "translated %lld sentences → %s\n", static_cast<long long>(lines.size()), output->c_str());
  });
}

}  // namespace qtool::cli
