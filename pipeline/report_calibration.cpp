// Calibration histograms of |x| on a log count scale, the chosen threshold as a
// labelled vertical line. A model has hundreds of calibrated inputs, so the
// page draws a selection (the first layer's of each kind, then the most
// clipped) and lists every tensor's numbers in a collapsed table.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <vector>

#include "pipeline/html.h"
#include "pipeline/report_sections.h"
#include "pipeline/svg_plot.h"

namespace qtool::pipeline {

namespace {

// Plots at most this many histograms with this many bars each: keeps the page small.
constexpr size_t kMaxPlots = 36, kMostClipped = 6, kMaxBars = 128;

struct Tensor {
  std::string name;
  bool one_sided = false;
  std::optional<double> threshold, max_abs;
  double range = 0;
  std::vector<double> counts;
  double clipped = 0;  // fraction of values above the threshold
  // Linear-layer inputs (calibration version 2): the range's zero point (u8
  // inputs), how it was chosen, the product's output errors and the verdict.
  std::optional<double> zero_point, static_error, dynamic_error;
  std::string chosen_by, int8_input;
};

Tensor read_tensor(const nlohmann::json& t) {
  Tensor x;
  x.name = text(t, "name");
  x.threshold = number(t, "threshold");
  x.max_abs = number(t, "max_abs");
  if (const auto* s = member(t, "one_sided"); s && s->is_boolean()) x.one_sided = s->get<bool>();
  if (const auto* h = member(t, "histogram")) {
    x.range = number(*h, "range").value_or(0);
    for (const auto& c : array(*h, "counts")) x.counts.push_back(c.is_number() ? std::max(0.0, c.get<double>()) : 0.0);
  }
  double total = 0, above = 0;
  if (x.threshold && x.range > 0 && !x.counts.empty()) {
    double w = x.range / static_cast<double>(x.counts.size());
    for (size_t i = 0; i < x.counts.size(); ++i) {
      double lo = w * static_cast<double>(i);
      total += x.counts[i];
      // The bin the threshold cuts counts by the part above it (uniform within bins).
      above += x.counts[i] * std::clamp((lo + w - *x.threshold) / w, 0.0, 1.0);
    }
  }
  x.clipped = total > 0 ? above / total : 0;
  if (auto f = number(t, "clipped_fraction")) x.clipped = *f;  // measured on held-back rows, both sides
  x.zero_point = number(t, "zero_point");
  x.chosen_by = text(t, "chosen_by");
  x.int8_input = text(t, "int8_input");
  if (const auto* e = member(t, "output_error")) x.static_error = number(*e, "static"), x.dynamic_error = number(*e, "dynamic");
  return x;
}

// "decoder.layers.3.fc1" -> "decoder.layers.N.fc1", and the layer number.
std::pair<std::string, int> kind_of(const std::string& name) {
  static const std::regex layer(R"(layers\.(\d+)\.)");
  std::smatch m;
  if (!std::regex_search(name, m, layer)) return {name, -1};
  return {m.prefix().str() + "layers.N." + m.suffix().str(), std::stoi(m[1].str())};
}

std::string percent(double f) { return f > 0 && f < 0.0001 ? "<0.01%" : fixed(100 * f, 2) + "%"; }

std::string histogram_plot(const Tensor& t, int index, bool most_clipped) {
  const double W = 350, H = 190;
  const PlotArea a{56, 44, W - 14, H - 44};
  std::string name = short_tensor_name(t.name);
  std::string tip = t.name + (t.one_sided ? " (one-sided)" : "") + ": threshold " +
                    (t.threshold ? fixed(*t.threshold, 4) : kMissing) + ", max |x| " +
                    (t.max_abs ? fixed(*t.max_abs, 4) : kMissing) + ", " + percent(t.clipped) + " of values clipped";
  Svg svg(W, H, "calibration-hist-" + std::to_string(index), "plot histogram", tip);
  std::string shown = name.size() > 46 ? "…" + name.substr(name.size() - 45) : name;
  svg.text(8, 14, shown, "start", "plot-title");
  std::string sub = std::string(t.one_sided ? "one-sided" : "symmetric") + ", " + percent(t.clipped) + " clipped" +
                    (most_clipped ? " (most clipped)" : "");
  svg.text(8, 28, sub, "start", "small");

  // Merge bins for display; stop the x axis just past the largest value.
  size_t group = std::max<size_t>(1, (t.counts.size() + kMaxBars - 1) / kMaxBars);
  std::vector<double> bars;
  for (size_t i = 0; i < t.counts.size(); i += group) {
    double s = 0;
    for (size_t k = i; k < std::min(t.counts.size(), i + group); ++k) s += t.counts[k];
    bars.push_back(s);
  }
  double bar_w = t.range / static_cast<double>(t.counts.size()) * static_cast<double>(group);
  double last = 0;
  for (size_t i = 0; i < bars.size(); ++i)
    if (bars[i] > 0) last = bar_w * static_cast<double>(i + 1);
  double xmax = std::max({last, t.max_abs.value_or(0), t.threshold.value_or(0)}) * 1.05;
  if (!(xmax > 0)) xmax = 1;
  auto ticks = nice_ticks(0, xmax, 4);
  xmax = std::max(xmax, ticks.back());
  double peak = bars.empty() ? 0 : *std::max_element(bars.begin(), bars.end());
  double ymax = std::pow(10.0, std::ceil(std::log10(std::max(peak, 10.0))));
  // From 0.5 so a bin of one value is still a visible bar.
  Axis x{Scale{0, xmax, a.left, a.right}, ticks, "|x|"};
  Axis y{Scale{0.5, ymax, a.bottom, a.top, true}, log_ticks(1, ymax, 4), "count"};
  draw_axes(svg, a, x, y);

  std::string d;
  for (size_t i = 0; i < bars.size(); ++i) {
    double lo = bar_w * static_cast<double>(i);
    if (bars[i] <= 0 || lo >= xmax) continue;
    double x0 = x.scale(lo), x1 = x.scale(std::min(lo + bar_w, xmax)), yt = y.scale(bars[i]);
    d += 'M';
    d += fixed(x0, 1) + " " + fixed(a.bottom, 1) + "V" + fixed(yt, 1) + "H" + fixed(x1, 1) + "V" +
         fixed(a.bottom, 1) + "Z";
  }
  if (t.threshold) svg.rect(x.scale(*t.threshold), a.top, a.right - x.scale(*t.threshold), a.bottom - a.top, "", "", "clip-zone");
  if (!d.empty()) svg.path(d, "bars");
  double mid = (a.left + a.right) / 2;
  if (t.max_abs) {
    double px = x.scale(*t.max_abs);
    svg.line(px, a.top, px, a.bottom, "max-line");
    svg.text(px > mid ? px - 4 : px + 4, a.top + 24, "max " + compact_number(*t.max_abs, 3), px > mid ? "end" : "start", "small halo");
  }
  if (t.threshold) {
    double px = x.scale(*t.threshold);
    svg.line(px, a.top - 4, px, a.bottom, "threshold-line");
    svg.text(px > mid ? px - 4 : px + 4, a.top + 10, "T = " + compact_number(*t.threshold, 3), px > mid ? "end" : "start",
             "threshold halo");
  }
  return svg.finish() + "\n";
}

}  // namespace

std::string calibration_section(const nlohmann::json& r) {
  const nlohmann::json* calib = member(r, "calibration");
  if (!calib) return note("No calibration in this pipeline (no statically quantized variant).");
  std::vector<Tensor> tensors;
  for (const auto& t : array(*calib, "tensors")) tensors.push_back(read_tensor(t));

  std::string h = "<p class=\"lead\">Method <b>" + escape_html(text(*calib, "method").empty() ? "?" : text(*calib, "method")) +
                  "</b>";
  if (auto n = number(*calib, "sentences")) h += " over " + thousands(*n) + " sentences";
  if (auto b = number(*calib, "bins")) h += ", " + thousands(*b) + " histogram bins";
  h += ". Histograms of |x| on a log count scale; the red line is the chosen clipping threshold T, "
       "values beyond it (shaded) are clipped; the dashed line is the largest value seen.</p>\n";
  if (tensors.empty()) return h + note("The calibration recorded no tensors.");

  // The first layer's tensor of every kind, then the most clipped of the rest.
  std::vector<size_t> chosen;
  std::map<std::string, size_t> first_of_kind;
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto [kind, layer] = kind_of(tensors[i].name);
    auto it = first_of_kind.find(kind);
    if (it == first_of_kind.end()) first_of_kind[kind] = i, chosen.push_back(i);
    else if (layer >= 0 && layer < kind_of(tensors[it->second].name).second)
      *std::find(chosen.begin(), chosen.end(), it->second) = i, it->second = i;
  }
  if (chosen.size() > kMaxPlots - kMostClipped) chosen.resize(kMaxPlots - kMostClipped);
  std::set<size_t> featured(chosen.begin(), chosen.end());
  std::vector<size_t> rest;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!featured.count(i) && tensors[i].clipped > 0) rest.push_back(i);
  std::stable_sort(rest.begin(), rest.end(), [&](size_t a, size_t b) { return tensors[a].clipped > tensors[b].clipped; });
  if (rest.size() > kMostClipped) rest.resize(kMostClipped);

  h += "<h3>First layer of each kind</h3><div class=\"plots\">\n";
  int index = 0;
  for (size_t i : chosen) h += histogram_plot(tensors[i], index++, false);
  h += "</div>\n";
  if (!rest.empty()) {
    h += "<h3>Most clipped of the others</h3><div class=\"plots\">\n";
    for (size_t i : rest) h += histogram_plot(tensors[i], index++, true);
    h += "</div>\n";
  }

  // Per product: where the static INT8 loss comes from, and which layers fell back.
  std::map<std::string, int> verdicts;
  for (const Tensor& t : tensors)
    if (!t.int8_input.empty()) ++verdicts[t.int8_input];
  if (!verdicts.empty())
    h += "<p>Linear-layer inputs: " + std::to_string(verdicts["static"]) + " static, " +
         std::to_string(verdicts["dynamic"]) + " fall back to dynamic, " + std::to_string(verdicts["fp32"]) +
         " to FP32 (a static input whose product's output error is worse than dynamic quantization's; "
         "errors are ‖ŷ − y‖² / ‖y‖² on held-back calibration rows).</p>\n";
  h += "<details><summary>All " + std::to_string(tensors.size()) + " calibrated tensors</summary>\n"
       "<table id=\"calibration-tensors\"><thead><tr><th>tensor</th><th>range</th><th>max |x|</th><th>threshold T</th>"
       "<th>T / max</th><th>clipped</th><th>chosen by</th><th>output error static</th><th>dynamic</th>"
       "<th>INT8 input</th></tr></thead><tbody>\n";
  for (const Tensor& t : tensors) {
    std::optional<double> ratio;
    if (t.threshold && t.max_abs && *t.max_abs > 0) ratio = *t.threshold / *t.max_abs;
    const std::string range = t.zero_point ? (*t.zero_point == 0 ? "one-sided" : "zero point " + compact_number(*t.zero_point, 3))
                                           : t.one_sided ? "one-sided" : "symmetric";
    auto error = [](const std::optional<double>& e) { return e ? compact_number(*e, 2) : std::string("–"); };
    h += "<tr><td>" + escape_html(t.name) + "</td><td>" + escape_html(range) + "</td>" +
         "<td class=\"num\">" + fixed_or_missing(t.max_abs, 4) + "</td><td class=\"num\">" + fixed_or_missing(t.threshold, 4) +
         "</td><td class=\"num\">" + fixed_or_missing(ratio, 3) + "</td><td class=\"num\">" +
         escape_html(percent(t.clipped)) + "</td><td>" + escape_html(t.chosen_by.empty() ? "–" : t.chosen_by) +
         "</td><td class=\"num\">" + escape_html(error(t.static_error)) + "</td><td class=\"num\">" +
         escape_html(error(t.dynamic_error)) + "</td><td>" + escape_html(t.int8_input.empty() ? "–" : t.int8_input) +
         "</td></tr>\n";
  }
  return h + "</tbody></table></details>\n";
}

}  // namespace qtool::pipeline
