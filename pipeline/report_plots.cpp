// Two scatter plots: BLEU against model size (one point per variant, greedy and
// beam), and the precision search's trajectory (dev BLEU against average bits).
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <vector>

#include "pipeline/html.h"
#include "pipeline/report_sections.h"
#include "pipeline/svg_plot.h"

namespace qtool::pipeline {

namespace {

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// Puts a point's label right of, left of, above or below it, the first place
// that stays inside `bounds` and clear of labels and points already placed.
void place_label(Svg& svg, double px, double py, const std::string& label, const Box& bounds,
                 std::vector<Box>& taken) {
  double w = text_width(label, 11), h = 12;
  struct Try { double x, y; const char* anchor; };
  const Try tries[] = {{px + 8, py + 4, "start"}, {px - 8, py + 4, "end"}, {px, py - 10, "middle"},
                       {px, py + 18, "middle"},   {px + 8, py - 10, "start"}, {px + 8, py + 16, "start"}};
  for (const Try& t : tries) {
    double x0 = t.anchor[0] == 's' ? t.x : t.anchor[0] == 'e' ? t.x - w : t.x - w / 2;
    Box b{x0, t.y - h + 2, x0 + w, t.y + 2};
    if (b.x0 < bounds.x0 || b.x1 > bounds.x1 || b.y0 < bounds.y0 || b.y1 > bounds.y1) continue;
    if (std::any_of(taken.begin(), taken.end(), [&](const Box& o) { return o.overlaps(b); })) continue;
    taken.push_back(b);
    svg.text(t.x, t.y, label, t.anchor, "point-label halo");
    return;
  }
  // Crowded: the tooltip still names the point.
}

struct Point {
  std::string name, kind;
  double mb;
  std::optional<double> greedy, beam;
  std::string beam_size;
};

}  // namespace

std::string bleu_size_plot(const nlohmann::json& r) {
  std::vector<Point> points;
  for (const auto& v : array(r, "variants")) {
    std::optional<double> bytes = number(v, "bytes");
    const nlohmann::json* bleu = member(v, "bleu");
    if (!bytes || *bytes <= 0 || !bleu) continue;
    Point p{text(v, "name"), text(v, "kind"), *bytes / 1e6, number(*bleu, "greedy"), number(*bleu, "beam"),
            text(*bleu, "beam_size")};
    if (p.greedy || p.beam) points.push_back(p);
  }
  if (points.empty()) return note("No variant has both a size and a BLEU score to plot.");

  double xlo = 1e300, xhi = 0, ylo = 1e300, yhi = -1e300;
  for (const Point& p : points) {
    xlo = std::min(xlo, p.mb);
    xhi = std::max(xhi, p.mb);
    for (const auto& b : {p.greedy, p.beam})
      if (b) ylo = std::min(ylo, *b), yhi = std::max(yhi, *b);
  }
  xlo /= 1.3, xhi *= 1.3;  // room for the points at both ends
  auto [y0, y1] = nice_domain(ylo - 0.5, yhi + 0.5, 6);
  const double W = 900, H = 420;
  const PlotArea a{64, 20, 720, H - 56};
  Svg svg(W, H, "bleu-size-plot", "plot",
          "BLEU against model size: one point per variant, greedy filled, beam hollow");
  Axis x{Scale{xlo, xhi, a.left, a.right, true}, log_ticks(xlo, xhi), "model size (MB, log scale)"};
  Axis y{Scale{y0, y1, a.bottom, a.top}, nice_ticks(y0, y1, 6), "BLEU (test)"};
  draw_axes(svg, a, x, y);

  std::vector<Box> taken;
  auto fp32 = std::find_if(points.begin(), points.end(), [](const Point& p) { return p.kind == "fp32"; });
  if (fp32 != points.end() && fp32->greedy) {
    double py = y.scale(*fp32->greedy);
    svg.line(a.left, py, a.right, py, "ref");
    svg.text(a.left + 6, py - 5, "FP32 greedy " + fixed(*fp32->greedy, 2), "start", "small halo");
    taken.push_back({a.left + 6, py - 16, a.left + 6 + text_width("FP32 greedy 00.00", 10), py - 2});
  }
  for (const Point& p : points) {
    double px = x.scale(p.mb);
    std::string color = kind_color(p.kind);
    std::string tip = p.name + " (" + p.kind + "): " + fixed(p.mb, 2) + " MB, BLEU greedy " +
                      (p.greedy ? fixed(*p.greedy, 2) : kMissing) + ", beam " + (p.beam ? fixed(*p.beam, 2) : kMissing);
    if (p.greedy && p.beam)
      svg.line(px, y.scale(*p.greedy), px, y.scale(*p.beam), "pair", color);
    for (const auto& [b, hollow] : {std::pair{p.greedy, false}, std::pair{p.beam, true}}) {
      if (!b) continue;
      double py = y.scale(*b);
      svg.circle(px, py, 5, hollow ? "#ffffff" : color, color, tip, hollow ? "hollow" : "");
      taken.push_back({px - 5, py - 5, px + 5, py + 5});
    }
  }
  for (const Point& p : points) {
    double px = x.scale(p.mb), py = y.scale(p.greedy ? *p.greedy : *p.beam);
    place_label(svg, px, py, p.name, {a.left, a.top, a.right, a.bottom}, taken);
  }

  // Legend, right of the plot area: kinds by colour, then the two markers.
  double ly = a.top + 8;
  svg.text(a.right + 24, ly, "variant kind", "start", "axis-title");
  std::set<std::string> seen;
  for (const Point& p : points) {
    if (!seen.insert(p.kind).second) continue;
    ly += 20;
    svg.circle(a.right + 30, ly - 4, 5, kind_color(p.kind), kind_color(p.kind));
    svg.text(a.right + 42, ly, p.kind.empty() ? "(none)" : p.kind);
  }
  ly += 32;
  svg.text(a.right + 24, ly, "decoding", "start", "axis-title");
  svg.circle(a.right + 30, ly + 16, 5, "#555555", "#555555");
  svg.text(a.right + 42, ly + 20, "greedy");
  svg.circle(a.right + 30, ly + 36, 5, "#ffffff", "#555555", "", "hollow");
  std::string beam_label = "beam";
  for (const Point& p : points)
    if (p.beam && !p.beam_size.empty()) { beam_label = "beam " + p.beam_size; break; }
  svg.text(a.right + 42, ly + 40, beam_label);
  return "<div class=\"scroll\">" + svg.finish() + "</div>\n<p class=\"note\">Hover a point for its numbers. " +
         "The dashed line is FP32's greedy score.</p>\n";
}

std::string search_section(const nlohmann::json& r) {
  const nlohmann::json* search = member(r, "search");
  if (!search) return note("No precision search in this pipeline.");
  std::optional<double> target = number(*search, "target_bits");
  struct Step { double bits, bleu; std::string label, change; };
  std::vector<Step> steps;
  for (const auto& s : array(*search, "steps")) {
    auto bits = number(s, "average_bits"), bleu = number(s, "dev_bleu");
    if (bits && bleu) steps.push_back({*bits, *bleu, text(s, "step"), text(s, "change")});
  }
  std::string h = "<p class=\"lead\">Greedy search for per-sub-layer bits on dev BLEU";
  if (target) h += ", target " + compact_number(*target, 2) + " average bits";
  h += ".</p>\n";
  if (steps.empty()) return h + note("The search recorded no steps with both average bits and dev BLEU.");

  double blo = steps[0].bits, bhi = blo, ylo = steps[0].bleu, yhi = ylo;
  for (const Step& s : steps) {
    blo = std::min(blo, s.bits), bhi = std::max(bhi, s.bits);
    ylo = std::min(ylo, s.bleu), yhi = std::max(yhi, s.bleu);
  }
  if (target) blo = std::min(blo, *target), bhi = std::max(bhi, *target);
  auto [x0, x1] = nice_domain(blo - 0.1, bhi + 0.1, 6);
  auto [y0, y1] = nice_domain(ylo - 0.3, yhi + 0.3, 5);
  const double W = 720, H = 340;
  const PlotArea a{64, 24, W - 24, H - 56};
  Svg svg(W, H, "search-plot", "plot", "Search trajectory: dev BLEU against average bits, one point per step");
  Axis x{Scale{x0, x1, a.left, a.right}, nice_ticks(x0, x1, 6), "average bits per weight"};
  Axis y{Scale{y0, y1, a.bottom, a.top}, nice_ticks(y0, y1, 5), "dev BLEU (greedy)"};
  draw_axes(svg, a, x, y);
  if (target) {
    double px = x.scale(*target);
    svg.line(px, a.top, px, a.bottom, "ref");
    svg.text(px + 4, a.top + 12, "target " + compact_number(*target, 2), "start", "small");
  }
  std::string d;
  for (size_t i = 0; i < steps.size(); ++i) {
    d += i ? 'L' : 'M';
    d += fixed(x.scale(steps[i].bits), 1) + " " + fixed(y.scale(steps[i].bleu), 1);
  }
  svg.path(d, "trajectory");
  std::vector<Box> taken;
  for (const Step& s : steps) {
    double px = x.scale(s.bits), py = y.scale(s.bleu);
    taken.push_back({px - 5, py - 5, px + 5, py + 5});
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    double px = x.scale(s.bits), py = y.scale(s.bleu);
    bool last = i + 1 == steps.size();
    svg.circle(px, py, i == 0 || last ? 6 : 4.5, last ? "#d62728" : "#22313f", "#ffffff",
               "step " + s.label + ": " + fixed(s.bits, 2) + " bits, dev BLEU " + fixed(s.bleu, 2) + " — " + s.change);
    place_label(svg, px, py, "step " + s.label, {a.left, a.top, a.right, a.bottom}, taken);
  }
  h += "<div class=\"scroll\">" + svg.finish() + "</div>\n";

  h += "<table id=\"search-steps\"><thead><tr><th>step</th><th>average bits</th><th>MB</th><th>dev BLEU</th>"
       "<th>change</th></tr></thead><tbody>\n";
  for (const auto& s : array(*search, "steps")) {
    auto bytes = number(s, "bytes");
    h += "<tr><td class=\"num\">" + escape_html(text(s, "step")) + "</td>" +
         "<td class=\"num\">" + fixed_or_missing(number(s, "average_bits"), 2) + "</td>" +
         "<td class=\"num\">" + (bytes ? fixed(*bytes / 1e6, 2) : kMissing) + "</td>" +
         "<td class=\"num\">" + fixed_or_missing(number(s, "dev_bleu"), 2) + "</td>" +
         "<td>" + escape_html(text(s, "change")) + "</td></tr>\n";
  }
  return h + "</tbody></table>\n";
}

}  // namespace qtool::pipeline
