// The report's sections, each a piece of HTML from the whole results document;
// report_html.cpp lays them out in the page. A section without its data
// returns a short note instead of failing.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace qtool::pipeline {

std::string variants_table(const nlohmann::json& results);   // report_table.cpp
std::string bleu_size_plot(const nlohmann::json& results);   // report_plots.cpp
std::string search_section(const nlohmann::json& results);   // report_plots.cpp
std::string bit_heatmaps(const nlohmann::json& results);     // report_heatmap.cpp
std::string calibration_section(const nlohmann::json& results);  // report_calibration.cpp

// <p class="note">…</p> with the text escaped.
std::string note(const std::string& text);

// Colour of a variant kind (fp32, int8, lowbit, …) in plots and the legend.
std::string kind_color(const std::string& kind);

}  // namespace qtool::pipeline
