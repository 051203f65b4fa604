// results.json (docs/pipeline.md): what the pipeline's stages measured, gathered
// from their output files into one document for machines and for the report,
// and the variants table printed at the end of a run.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/pipeline_config.h"

namespace qtool::pipeline {

// `fp32_weights`: the checkpoint's tensor file (the size every ratio is against).
nlohmann::json collect_results(const PipelineConfig& c, const std::string& fp32_weights,
                               const std::string& calibration_file, const std::string& search_table_file);

// The variants table (Markdown) from results.json.
std::string variants_text_table(const nlohmann::json& results);

}  // namespace qtool::pipeline
