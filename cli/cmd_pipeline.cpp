#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "pipeline/pipeline.h"
#include "pipeline/results.h"

namespace qtool::cli {

void add_pipeline(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "pipeline",
      "Run a JSON pipeline: calibrate → search → quantize → evaluate → bench → export, resumably;\n"
      "writes results.json and report.html in its output directory (docs/pipeline.md)");
  auto config = std::make_shared<std::string>();
  auto opt = std::make_shared<pipeline::PipelineOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("CONFIG", *config, "Pipeline config (JSON), e.g. configs/demo.json")->required();
  cmd->add_flag("--force", opt->force, "Redo the stages even when their inputs are unchanged");
  cmd->add_option("--only", opt->only,
                  "Run only this stage (calibrate, search, quantize, evaluate, bench, export) or one variant's "
                  "(quantize/NAME); the stages before it must be up to date");
  cmd->add_flag("--quiet", *quiet, "No stage lines or progress; only the final table");
  cmd->add_flag("--json", *as_json, "Print results.json on stdout instead of the table");
  cmd->callback([=] {
    // Validated as a whole before any stage starts.
    const pipeline::PipelineConfig c = pipeline::read_pipeline_config(*config);
    opt->progress = !*quiet && !*as_json;
    const pipeline::PipelineRun run = pipeline::run_pipeline(c, *opt);
    if (*as_json) {
      std::cout << run.results.dump(1) << "\n";
      return;
    }
    if (!*quiet)
      std::fprintf(stderr, "%d stage(s) run, %d skipped (inputs unchanged)\n", run.ran, run.skipped);
    std::printf("%s\nwrote %s/results.json and %s/report.html\n", run.table.c_str(), c.output_dir.c_str(),
                c.output_dir.c_str());
  });
}

}  // namespace qtool::cli
