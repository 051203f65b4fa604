// SVG building blocks for the report's plots: an element writer that escapes
// every string and attaches tooltips as <title>, linear and log10 scales with
// round-number ticks, axes with tick labels and titles, and the colours of bits.
// Styling is by class (the page's <style>), so the plots stay small.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qtool::pipeline {

// Maps the data interval [d0, d1] onto pixels [r0, r1]; a log scale maps log10(v).
struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  bool log = false;
  double operator()(double v) const;
};

// About `count` round numbers (1, 2, 5 × 10^k steps) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count);
// [lo, hi] widened outwards to those ticks' step.
std::pair<double, double> nice_domain(double lo, double hi, int count);
// Ticks for a log axis over [lo, hi] (lo > 0): 1-2-5 per decade when the
// range is narrow, powers of ten when it spans decades, every second or third
// power when more than `max_count` would crowd a short axis.
std::vector<double> log_ticks(double lo, double hi, int max_count = 8);
// Short tick text: "0.5", "12", "1k", "10M".
std::string tick_label(double v);

// Width of a text in pixels at a font size, for placing labels clear of each other
// (sans-serif averages about 0.58 em per character).
double text_width(const std::string& s, double font_px);

class Svg {
 public:
  // `title` becomes the plot's tooltip and accessible name.
  Svg(double width, double height, const std::string& id, const std::string& css_class,
      const std::string& title);
  // `stroke` overrides the class's colour (e.g. a variant's colour).
  void line(double x1, double y1, double x2, double y2, const std::string& cls, const std::string& stroke = "");
  void rect(double x, double y, double w, double h, const std::string& fill,
            const std::string& tooltip = "", const std::string& cls = "");
  void circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke,
              const std::string& tooltip = "", const std::string& cls = "");
  void path(const std::string& d, const std::string& cls, const std::string& tooltip = "");
  // anchor: start, middle or end; `extra` is raw attributes (e.g. a transform).
  void text(double x, double y, const std::string& s, const std::string& anchor = "start",
            const std::string& cls = "", const std::string& extra = "");
  double width() const { return width_; }
  double height() const { return height_; }
  // The markup, closed.
  std::string finish();

 private:
  void close_with_tooltip(const std::string& tag, const std::string& tooltip);
  std::string out_;
  double width_, height_;
};

// The pixel box the data is drawn in.
struct PlotArea {
  double left, top, right, bottom;
};

struct Axis {
  Scale scale;
  std::vector<double> ticks;
  std::string title;
  std::function<std::string(double)> label = tick_label;
};

// Grid lines, the two axis lines, tick marks and labels, and the axis titles
// (x below the area, y rotated left of it).
void draw_axes(Svg& svg, const PlotArea& area, const Axis& x, const Axis& y);

// Fill for a weight's bits: viridis at 1, 2, 3, 4, 8 (interpolated on log2 bits
// for averages) and neutral grey for 32 (unquantized).
std::string bits_color(double bits);
// The class of a label drawn on bits_color(bits): "cell-label", plus "on-dark"
// (white text) on the dark end of the scale. A class, not a fill attribute:
// the page's CSS would override an attribute.
std::string bits_label_class(double bits);
// The bits the colour legend shows.
const std::vector<double>& legend_bits();

// "12.5" with at most `decimals` decimals and no trailing zeros.
std::string compact_number(double v, int decimals);

}  // namespace qtool::pipeline
