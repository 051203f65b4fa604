// The page: head with the style sheet, the header (pipeline, model, date, test
// set), then the sections in reading order: table first, then the plots.
#include "pipeline/report_html.h"

#include "pipeline/html.h"
#include "pipeline/report_sections.h"
#include "pipeline/svg_plot.h"
#include "util/error.h"

namespace qtool::pipeline {

namespace {

// Polyglot markup (also well-formed XML): the browser test loads the page as
// XHTML too, so a tag left open fails it. No '<' or '&' in the CSS for that reason.
constexpr const char* kStyle = R"CSS(
body { font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; color: #1d1d1f; background: #f6f6f4; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
header { background: #22313f; color: #fff; padding: 18px 24px; }
header .inner { max-width: 1180px; margin: 0 auto; }
header h1 { font-size: 22px; margin: 0 0 4px; font-weight: 600; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 6px 0 0; font-size: 13px; }
header dt { color: #b8c4ce; display: inline; }
header dd { display: inline; margin: 0 0 0 6px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
nav { font-size: 13px; margin: 10px 0 0; }
nav a { color: #cfe3f5; margin-right: 16px; }
section { background: #fff; border: 1px solid #e2e2de; border-radius: 6px; padding: 14px 20px 18px; margin: 20px 0; }
h2 { font-size: 17px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
p.note { color: #6b6b6b; font-style: italic; margin: 6px 0; }
p.lead { color: #444; margin: 0 0 10px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e6e6e6; }
th { background: #f0f0ec; font-weight: 600; text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { font-weight: 600; white-space: nowrap; }
tbody tr:hover { background: #f7fbff; }
td.missing { color: #9a9a9a; text-align: center; }
span.delta { color: #777; font-size: 11px; margin-left: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; vertical-align: baseline; }
.plots { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
.scroll { overflow-x: auto; }
details summary { cursor: pointer; color: #22313f; font-weight: 600; margin: 10px 0 6px; }
footer { color: #888; font-size: 12px; text-align: center; margin-top: 24px; }
svg { background: #fff; }
svg text { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 12px; fill: #222; }
svg text.tick { font-size: 11px; fill: #555; }
svg text.axis-title { font-size: 12px; font-weight: 600; fill: #333; }
svg text.plot-title { font-size: 12px; font-weight: 600; }
svg text.small { font-size: 10px; fill: #555; }
svg text.point-label { font-size: 11px; }
svg text.threshold { font-size: 11px; fill: #c0392b; font-weight: 600; }
svg text.cell-label { font-size: 11px; fill: #111; }
svg text.cell-label.on-dark { fill: #fff; }
svg text.halo { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .grid { stroke: #ececec; }
svg .axis { stroke: #555; }
svg .ref { stroke: #888; stroke-dasharray: 5 4; }
svg .bars { fill: #5b8db8; }
svg .clip-zone { fill: #c0392b; fill-opacity: 0.08; }
svg .threshold-line { stroke: #c0392b; stroke-width: 2; }
svg .max-line { stroke: #555; stroke-dasharray: 3 3; }
svg .trajectory { fill: none; stroke: #22313f; stroke-width: 1.5; }
svg .pair { stroke-width: 1.2; }
svg .cell { stroke: #fff; stroke-width: 1; }
svg .absent { fill: #f4f4f4; stroke: #fff; }
)CSS";

std::string header(const nlohmann::json& r) {
  std::string pipeline = text(r, "pipeline"), model = text(r, "model"), created = text(r, "created");
  std::string h = "<header><div class=\"inner\"><h1>qtool pipeline report";
  if (!pipeline.empty()) h += ": " + escape_html(pipeline);
  h += "</h1><dl>";
  auto item = [&](const std::string& dt, const std::string& dd) {
    h += "<div><dt>" + dt + "</dt><dd>" + (dd.empty() ? std::string(kMissing) : escape_html(dd)) + "</dd></div>";
  };
  item("model", model);
  item("created", created);
  const nlohmann::json* test = member(r, "test");
  if (test) {
    std::string set = text(*test, "src");
    if (!text(*test, "ref").empty()) set += " → " + text(*test, "ref");
    item("test set", set);
    if (auto n = number(*test, "sentences")) item("sentences", thousands(*n));
  }
  if (auto b = number(r, "fp32_bytes")) item("FP32 bytes", thousands(*b));
  h += "</dl><nav><a href=\"#variants\">variants</a><a href=\"#bleu-size\">BLEU vs size</a>"
       "<a href=\"#bits\">bits per layer</a><a href=\"#calibration\">calibration</a>"
       "<a href=\"#search\">search</a></nav></div></header>\n";
  return h;
}

std::string section(const std::string& id, const std::string& title, const std::string& body) {
  return "<section id=\"" + id + "\"><h2>" + title + "</h2>\n" + body + "</section>\n";
}

}  // namespace

std::string note(const std::string& s) { return "<p class=\"note\">" + escape_html(s) + "</p>\n"; }

std::string kind_color(const std::string& kind) {
  if (kind == "fp32") return "#222222";
  if (kind == "int8") return "#1f77b4";
  if (kind == "lowbit" || kind == "binary_code") return "#d62728";
  if (kind == "mixed") return "#9467bd";
  if (kind == "clustered") return "#ff7f0e";
  return "#2ca02c";
}

std::string render_report_html(const nlohmann::json& r) {
  if (!r.is_object()) throw Error("results: the top level must be a JSON object");
  std::string title = "qtool report";
  if (!text(r, "pipeline").empty()) title += ": " + text(r, "pipeline");
  std::string page =
      "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
      "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
      "<title>" + escape_html(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  page += header(r);
  page += "<main>\n";
  page += section("variants", "Variants", variants_table(r));
  page += section("bleu-size", "BLEU against model size", bleu_size_plot(r));
  page += section("bits", "Bits per layer", bit_heatmaps(r));
  page += section("calibration", "Calibration", calibration_section(r));
  page += section("search", "Search trajectory", search_section(r));
  page += "<footer>Rendered by qtool from results.json";
  if (auto v = number(r, "version")) page += " (version " + compact_number(*v, 0) + ")";
  page += ".</footer>\n</main>\n</body>\n</html>\n";
  return page;
}

}  // namespace qtool::pipeline
