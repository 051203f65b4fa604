#include "calibrate/thresholds.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"

namespace qtool::calibrate {

Method parse_method(const std::string& name) {
  if (name == "output") return Method::output;
  if (name == "kl") return Method::kl;
  if (name == "max") return Method::max;
  if (name == "percentile") return Method::percentile;
  if (name == "mse") return Method::mse;
  throw Error("calibration method '" + name + "' is not one of output, kl, max, percentile, mse");
}

const char* method_name(Method m) {
  switch (m) {
    case Method::output: return "output";
    case Method::kl: return "kl";
    case Method::max: return "max";
    case Method::percentile: return "percentile";
    case Method::mse: return "mse";
  }
  return "?";
}

double kl_threshold(const Histogram& h, int levels, bool skip_zero_bin) {
  std::vector<int64_t> c = h.counts();
  if (skip_zero_bin) c[0] = 0;
  const int bins = h.bins();
  if (h.total() == 0 || h.range() == 0.0) return h.max_abs();
  double best = std::numeric_limits<double>::infinity();
  int best_i = bins;
  std::vector<double> p, q;
  for (int i = levels; i <= bins; ++i) {
    p.assign(c.begin(), c.begin() + i);
    double tail = 0;
    for (int k = i; k < bins; ++k) tail += c[k];
    p[i - 1] += tail;  // clipped values land in the last kept bin
    // Q: the first i bins merged into `levels` groups, each group's mass spread
    // evenly over its non-empty bins.
    q.assign(i, 0.0);
    for (int j = 0; j < levels; ++j) {
      const int start = static_cast<int>(int64_t(j) * i / levels);
      const int stop = j + 1 == levels ? i : static_cast<int>(int64_t(j + 1) * i / levels);
      double mass = 0;
      int nonzero = 0;
      for (int k = start; k < stop; ++k) {
        mass += c[k];
        nonzero += c[k] != 0;
      }
      for (int k = start; k < stop; ++k)
        if (c[k] != 0) q[k] = mass / nonzero;
    }
    double ps = 0, qs = 0;
    for (int k = 0; k < i; ++k) ps += p[k], qs += q[k];
    if (ps == 0 || qs == 0) continue;
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      if (p[k] == 0) continue;
      const double pk = p[k] / ps;
      const double qk = q[k] > 0 ? q[k] / qs : 1e-12;  // a bin Q cannot represent: heavily penalised
      kl += pk * std::log(pk / qk);
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return std::min((best_i + 0.5) * h.bin_width(), h.max_abs());  // never past the largest value seen
}

double percentile_threshold(const Histogram& h, double percentile) {
  const double want = h.total() * percentile / 100.0;
  double sum = 0;
  for (int b = 0; b < h.bins(); ++b) {
    sum += h.counts()[b];
    if (sum >= want) return std::min(h.max_abs(), (b + 1) * h.bin_width());
  }
  return h.max_abs();
}

double mse_threshold(const Histogram& h, int levels) {
  const double w = h.bin_width();
  double best = std::numeric_limits<double>::infinity(), best_t = h.max_abs();
  for (int i = 1; i <= h.bins(); ++i) {
    const double t = i * w, step = t / levels;
    double err = 0;
    for (int b = 0; b < h.bins(); ++b) {
      if (!h.counts()[b]) continue;
      const double x = (b + 0.5) * w;
      err += h.counts()[b] * (x <= t ? step * step / 12.0 : (x - t) * (x - t));
    }
    if (err < best) best = err, best_t = t;
  }
  return std::min(best_t, h.max_abs());
}

double threshold(const Histogram& h, Method m, double percentile, bool one_sided) {
  // A one-sided input is quantized over [0, T] with 256 levels (u8, zero point 0),
  // a signed one over [−T, T] with 127 steps each side.
  switch (m) {
    case Method::output:
    case Method::kl: return kl_threshold(h, one_sided ? 256 : 128, one_sided);
    case Method::max: return h.max_abs();
    case Method::percentile: return percentile_threshold(h, percentile);
    case Method::mse: return mse_threshold(h, one_sided ? 255 : 127);
  }
  return h.max_abs();
}

}  // namespace qtool::calibrate
