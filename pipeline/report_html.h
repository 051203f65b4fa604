// The pipeline's report: one self-contained HTML page (inline SVG and CSS, no
// scripts, no external resources) from the results.json document
// (docs/pipeline.md). Missing data renders as "—" or a section's short note.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace qtool::pipeline {

// Throws qtool::Error only when `results` is not a JSON object.
std::string render_report_html(const nlohmann::json& results);

}  // namespace qtool::pipeline
