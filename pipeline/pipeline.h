// `qtool pipeline CONFIG.json`: calibrate → search → quantize (one .qtm per
// variant) → evaluate → bench → export, then results.json and report.html.
// Each stage records what it consumed (content hashes of its inputs and its own
// config section) in <output_dir>/stages/<stage>.json, written only after its
// outputs are in place; a rerun skips a stage whose record matches its current
// inputs and whose outputs are still as recorded, and redoes the others.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/pipeline_config.h"

namespace qtool::pipeline {

struct PipelineOptions {
  bool force = false;  // redo the chosen stages even when their inputs are unchanged
  std::string only;    // run only this stage ("quantize", or one variant's: "quantize/int8")
  bool progress = true;  // stage lines and progress bars on stderr
};

struct PipelineRun {
  int ran = 0, skipped = 0;
  nlohmann::json results;  // results.json
  std::string table;       // the variants table, for the terminal
};

PipelineRun run_pipeline(const PipelineConfig& config, const PipelineOptions& options);

}  // namespace qtool::pipeline
