#include "calibrate/product_error.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "calibrate/thresholds.h"
#include "runtime/ops/linear_int8.h"
#include "util/error.h"

namespace qtool::calibrate {

namespace {

// The range [low, T] as an asymmetric input: the least zero point whose range
// [−z·T/(255 − z), T] still holds `low` (a SiLU output piles up at its floor,
// −0.278: rounding z down would clip that pile), scale T / (255 − z).
CalibratedInput asymmetric_range(double low, double t) {
  const double lo = std::min(0.0, std::max(low, -t));
  const double z = std::ceil(255.0 * -lo / (t - lo) - 1e-9);
  return {float(t), true, static_cast<int32_t>(std::clamp(z, 0.0, double(kMaxZeroPoint)))};
}

// The FP32 parts stacked into one weight [n, k] (every `stride`-th output channel).
LinearWeights stacked(const LinearProduct& p, int64_t max_outputs) {
  int64_t n = 0;
  for (const LinearWeights& w : p.parts) n += w.weight->dim(0);
  const int64_t k = p.parts.at(0).weight->dim(1), stride = (n + max_outputs - 1) / max_outputs;
  auto weight = std::make_shared<Tensor>(), bias = std::make_shared<Tensor>();
  int64_t row = 0;
  for (const LinearWeights& w : p.parts)
    for (int64_t o = 0; o < w.weight->dim(0); ++o, ++row) {
      if (row % stride) continue;
      weight->data.insert(weight->data.end(), w.weight->data.begin() + o * k, w.weight->data.begin() + (o + 1) * k);
      bias->data.push_back(w.bias->data[o]);
    }
  weight->shape = {int64_t(bias->data.size()), k};
  bias->shape = {int64_t(bias->data.size())};
  LinearWeights out;
  out.weight = weight;
  out.bias = bias;
  return out;
}

}  // namespace

std::vector<RangeCandidate> range_candidates(const Histogram& h, double min, double max, double percentile) {
  std::vector<RangeCandidate> out;
  const bool one_sided = min >= 0.0;
  const double top = std::max(max, 0.0), amax = h.max_abs();
  if (amax <= 0.0) return {{{1.0f, one_sided, 0}, "max"}};
  // Thresholds from the |x| histogram; for a lopsided input its tail is the positive side's.
  const std::pair<const char*, double> from_histogram[] = {
      {"kl", kl_threshold(h, one_sided ? 256 : 128, one_sided)},
      {"mse", mse_threshold(h, one_sided ? 255 : 127)},
      {"percentile", percentile_threshold(h, percentile)},
      {"max", amax}};
  auto add = [&](double t, const char* source) {
    if (!(t > 0.0) || !valid_threshold(t)) return;
    if (!one_sided) out.push_back({{float(t), false, 0}, source});
    if (top > 0.0) {
      const double tt = std::min(t, top);  // past the largest positive value only wastes levels
      out.push_back({one_sided ? CalibratedInput{float(tt), true, 0} : asymmetric_range(min, tt), source});
    }
  };
  for (const auto& [source, t] : from_histogram) add(t, source);
  // A geometric grid from the largest value down to 1/32 of it, four steps an octave.
  for (int i = 1; i <= 20; ++i) add(amax * std::exp2(-i / 4.0), "grid");
  return out;
}

struct ProductErrorMeter::Impl {
  std::unique_ptr<runtime::LinearF32> fp32;
  std::unique_ptr<runtime::LinearInt8> int8;
  int64_t n = 0, k = 0;
  // The FP32 outputs of the last rows asked about (fit and check alternate).
  mutable const std::vector<float>* ref_rows = nullptr;
  mutable std::vector<float> ref;
};

ProductErrorMeter::ProductErrorMeter(const LinearProduct& product, int64_t max_outputs) : impl_(new Impl) {
  LinearWeights w = stacked(product, max_outputs);
  impl_->n = w.weight->dim(0);
  impl_->k = w.weight->dim(1);
  impl_->fp32 = std::make_unique<runtime::LinearF32>(std::vector<LinearWeights>{w});
  w.int8 = std::make_shared<const Int8Tensor>(quantize_int8(*w.weight));
  impl_->int8 = std::make_unique<runtime::LinearInt8>(std::vector<LinearWeights>{w});
  impl_->fp32->activation = impl_->int8->activation = product.activation;
}

ProductErrorMeter::~ProductErrorMeter() { delete impl_; }

double ProductErrorMeter::error(const CalibratedInput& in, const std::vector<float>& rows) const {
  Impl& m = *impl_;
  const int64_t count = static_cast<int64_t>(rows.size()) / m.k;
  if (count == 0) return 0.0;
  if (m.ref_rows != &rows || int64_t(m.ref.size()) != count * m.n) {
    m.ref.resize(count * m.n);
    m.fp32->forward(rows.data(), count, m.ref.data());
    m.ref_rows = &rows;
  }
  thread_local std::vector<float> y;
  y.resize(count * m.n);
  m.int8->set_input(in);
  m.int8->forward(rows.data(), count, y.data());
  double num = 0, den = 0;
  for (int64_t i = 0; i < count * m.n; ++i) {
    const double d = double(y[i]) - m.ref[i];
    num += d * d, den += double(m.ref[i]) * m.ref[i];
  }
  return den > 0 ? num / den : num;
}

namespace {

double clipped_fraction(const CalibratedInput& in, const std::vector<float>& rows) {
  if (rows.empty()) return 0.0;
  const float lo = in.low(), hi = in.threshold;
  int64_t clipped = 0;
  for (float v : rows) clipped += v < lo || v > hi;
  return double(clipped) / double(rows.size());
}

ProductChoice judge(const ProductErrorMeter& meter, const InputSample& s, const RangeCandidate& c,
                    const FallbackRule& rule) {
  ProductChoice r;
  r.input = c.input;
  r.chosen_by = c.source;
  const std::vector<float>& rows = s.check.empty() ? s.fit : s.check;
  r.clipped_fraction = clipped_fraction(c.input, rows);
  r.static_error = meter.error(c.input, rows);
  r.dynamic_error = meter.error(CalibratedInput{}, rows);
  r.mode = fallback_mode(r.static_error, r.dynamic_error, rule);
  return r;
}

}  // namespace

ProductChoice choose_input_range(const LinearProduct& product, const InputSample& sample,
                                 const std::vector<RangeCandidate>& candidates, const FallbackRule& rule) {
  if (candidates.empty()) throw Error(product.name + ": no candidate input ranges");
  const ProductErrorMeter meter(product);
  size_t best = 0;
  double best_error = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < candidates.size(); ++i) {
    const double e = meter.error(candidates[i].input, sample.fit);
    if (e < best_error) best_error = e, best = i;  // ties keep the earlier (histogram methods first)
  }
  return judge(meter, sample, candidates[best], rule);
}

ProductChoice judge_input_range(const LinearProduct& product, const InputSample& sample, const RangeCandidate& fixed,
                                const FallbackRule& rule) {
  return judge(ProductErrorMeter(product), sample, fixed, rule);
}

}  // namespace qtool::calibrate
