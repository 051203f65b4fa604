#include "pipeline/svg_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "pipeline/html.h"

namespace qtool::pipeline {

namespace {

std::string num(double v) {  // pixel coordinates: one decimal is plenty
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s == "-0" ? "0" : s;
}

double nice_step(double lo, double hi, int count) {
  double raw = (hi - lo) / std::max(1, count);
  if (!(raw > 0)) return 1;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

}  // namespace

double Scale::operator()(double v) const {
  double a = d0, b = d1;
  if (log) {
    v = std::log10(std::max(v, 1e-300));
    a = std::log10(d0);
    b = std::log10(d1);
  }
  if (b == a) return (r0 + r1) / 2;
  return r0 + (v - a) / (b - a) * (r1 - r0);
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  double step = nice_step(lo, hi, count);
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

std::pair<double, double> nice_domain(double lo, double hi, int count) {
  if (!(hi > lo)) {
    double pad = std::max(std::fabs(lo) * 0.05, 0.5);
    lo -= pad;
    hi += pad;
  }
  double step = nice_step(lo, hi, count);
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step};
}

std::vector<double> log_ticks(double lo, double hi, int max_count) {
  std::vector<double> ticks;
  int k0 = static_cast<int>(std::floor(std::log10(lo))), k1 = static_cast<int>(std::ceil(std::log10(hi)));
  bool decades_only = k1 - k0 > 3;
  int stride = decades_only ? (k1 - k0) / std::max(1, max_count) + 1 : 1;
  for (int k = k0; k <= k1; k += stride) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (decades_only && m != 1.0) continue;
      double t = m * std::pow(10.0, k);
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push_back(t);
    }
  }
  return ticks;
}

std::string compact_number(double v, int decimals) {
  std::string s = fixed(v, decimals);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

std::string tick_label(double v) {
  double a = std::fabs(v);
  if (a >= 1e6) return compact_number(v / 1e6, 1) + "M";
  if (a >= 1e3) return compact_number(v / 1e3, 1) + "k";
  return compact_number(v, a >= 100 ? 0 : a >= 1 ? 2 : 3);
}

double text_width(const std::string& s, double font_px) {
  size_t chars = 0;  // UTF-8 code points, not bytes
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return 0.58 * font_px * static_cast<double>(chars);
}

Svg::Svg(double width, double height, const std::string& id, const std::string& css_class,
         const std::string& title)
    : width_(width), height_(height) {
  out_ = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + escape_html(id) + "\" class=\"" +
         escape_html(css_class) + "\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" role=\"img\" aria-label=\"" +
         escape_html(title) + "\"><title>" + escape_html(title) + "</title>\n";
}

void Svg::close_with_tooltip(const std::string& tag, const std::string& tooltip) {
  if (tooltip.empty()) {
    out_ += "/>\n";
  } else {
    out_ += "><title>" + escape_html(tooltip) + "</title></" + tag + ">\n";
  }
}

void Svg::line(double x1, double y1, double x2, double y2, const std::string& cls, const std::string& stroke) {
  out_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
          "\" class=\"" + cls + "\"";
  if (!stroke.empty()) out_ += " stroke=\"" + stroke + "\"";
  out_ += "/>\n";
}

void Svg::rect(double x, double y, double w, double h, const std::string& fill, const std::string& tooltip,
               const std::string& cls) {
  out_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) + "\"";
  if (!fill.empty()) out_ += " fill=\"" + fill + "\"";
  if (!cls.empty()) out_ += " class=\"" + cls + "\"";
  close_with_tooltip("rect", tooltip);
}

void Svg::circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke,
                 const std::string& tooltip, const std::string& cls) {
  out_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\" fill=\"" + fill +
          "\" stroke=\"" + stroke + "\"";
  if (!cls.empty()) out_ += " class=\"" + cls + "\"";
  close_with_tooltip("circle", tooltip);
}

void Svg::path(const std::string& d, const std::string& cls, const std::string& tooltip) {
  out_ += "<path d=\"" + d + "\" class=\"" + cls + "\"";
  close_with_tooltip("path", tooltip);
}

void Svg::text(double x, double y, const std::string& s, const std::string& anchor, const std::string& cls,
               const std::string& extra) {
  out_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"";
  if (anchor != "start") out_ += " text-anchor=\"" + anchor + "\"";
  if (!cls.empty()) out_ += " class=\"" + cls + "\"";
  if (!extra.empty()) out_ += " " + extra;
  out_ += '>';
  out_ += escape_html(s);
  out_ += "</text>\n";
}

std::string Svg::finish() { return out_ + "</svg>"; }

void draw_axes(Svg& svg, const PlotArea& a, const Axis& x, const Axis& y) {
  for (double t : x.ticks) {
    double px = x.scale(t);
    svg.line(px, a.top, px, a.bottom, "grid");
    svg.line(px, a.bottom, px, a.bottom + 4, "axis");
    svg.text(px, a.bottom + 19, x.label(t), "middle", "tick x-tick");
  }
  for (double t : y.ticks) {
    double py = y.scale(t);
    svg.line(a.left, py, a.right, py, "grid");
    svg.line(a.left - 4, py, a.left, py, "axis");
    svg.text(a.left - 8, py + 4, y.label(t), "end", "tick y-tick");
  }
  svg.line(a.left, a.bottom, a.right, a.bottom, "axis");
  svg.line(a.left, a.top, a.left, a.bottom, "axis");
  if (!x.title.empty()) svg.text((a.left + a.right) / 2, a.bottom + 36, x.title, "middle", "axis-title");
  if (!y.title.empty()) {
    double cx = 14, cy = (a.top + a.bottom) / 2;
    svg.text(cx, cy, y.title, "middle", "axis-title",
             "transform=\"rotate(-90 " + num(cx) + " " + num(cy) + ")\"");
  }
}

namespace {
struct Anchor {
  double bits;
  std::array<int, 3> rgb;
};
// viridis at 1, 2, 3, 4, 8 bits: dark = few bits (most compressed).
constexpr Anchor kAnchors[] = {
    {1, {68, 1, 84}}, {2, {59, 82, 139}}, {3, {33, 145, 140}}, {4, {94, 201, 98}}, {8, {253, 231, 37}}};
}  // namespace

std::string bits_color(double bits) {
  char buf[16];
  if (bits >= 16) return "#d9d9d9";  // unquantized: out of the scale on purpose
  double b = std::clamp(bits, 1.0, 8.0);
  std::array<int, 3> rgb = kAnchors[4].rgb;
  for (int i = 0; i + 1 < 5; ++i) {
    if (b <= kAnchors[i + 1].bits) {
      double t = (std::log2(b) - std::log2(kAnchors[i].bits)) /
                 (std::log2(kAnchors[i + 1].bits) - std::log2(kAnchors[i].bits));
      for (int c = 0; c < 3; ++c)
        rgb[c] = static_cast<int>(std::lround(kAnchors[i].rgb[c] + t * (kAnchors[i + 1].rgb[c] - kAnchors[i].rgb[c])));
      break;
    }
  }
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

std::string bits_label_class(double bits) { return bits < 3.5 ? "cell-label on-dark" : "cell-label"; }

const std::vector<double>& legend_bits() {
  static const std::vector<double> bits = {1, 2, 3, 4, 8, 32};
  return bits;
}

}  // namespace qtool::pipeline
