#include <cstdio>

#include "cli/commands.h"
#include "pipeline/model_loader.h"
#include "cli/options.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::cli {

void add_translate(CLI::App& app) {
  auto* cmd = app.add_subcommand("translate", "Translate a file, one sentence per line");
  auto opt = std::make_shared<RunOptions>();
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("--model", opt->model, "Checkpoint directory or .h5 file")->required();
  cmd->add_option("--input", *input, "Source text, one sentence per line")->required();
  cmd->add_option("--output", *output, "Where to write the translations (written atomically)")->required();
  add_run_options(*cmd, *opt);
  cmd->callback([opt, input, output] {
    check_distinct(*input, *output);
    check_distinct(pipeline::model_input_files(opt->model), *output);
    std::vector<std::string> lines = read_input_lines(*input);
    pipeline::LoadedModel m = pipeline::load_model(opt->model, opt->quantize);
    runtime::TranslateStats stats;
    std::vector<std::string> out = m.translator().translate(lines, translate_options(*opt), &stats);
    AtomicOutput file(*output);
    for (const std::string& l : out) file.stream() << l << '\n';
    file.commit();
    std::fprintf(stderr, "translated %lld sentences → %s\n", static_cast<long long>(stats.sentences),
                 output->c_str());
  });
}

}  // namespace qtool::cli
