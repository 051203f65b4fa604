#include "calibrate/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <random>
#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "util/crc32.h"
#include "util/error.h"
#include "util/file.h"
#include "util/progress.h"

namespace qtool::calibrate {
using nlohmann::json;

namespace {

class Recorder final : public runtime::ActivationObserver {
 public:
  Recorder(int bins, bool hessians) : hessians_(hessians), bins_(bins) {}
  void observe(const std::string& name, const float* x, int64_t count) override {
    if (count <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hist_.try_emplace(name, bins_).first;
    it->second.add(x, count);
    double s = 0;
    float lo = min_.count(name) ? min_[name] : x[0], hi = max_.count(name) ? max_[name] : x[0];
    for (int64_t i = 0; i < count; ++i) s += std::fabs(x[i]), lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    abs_sum_[name] += s;
    min_[name] = lo;
    max_[name] = hi;
  }
  void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) override {
    observe(name, x, rows * cols);
    if (rows <= 0 || cols <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    ColumnSquares& cs = columns_[name];
    if (cs.sum.empty()) cs.sum.assign(cols, 0.0);
    if (int64_t(cs.sum.size()) != cols)
      fail("calibration", name + ": input width " + std::to_string(cols) + " after " + std::to_string(cs.sum.size()));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) cs.sum[c] += double(x[r * cols + c]) * x[r * cols + c];
    cs.rows += rows;
    sample_rows(name, x, rows, cols);
    if (hessians_) {
      // Σ x xᵀ: the product in float (fast), accumulated in double across calls.
      using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      const Eigen::Map<const RowMajor> xm(x, rows, cols);
      Eigen::MatrixXd& g = gram_[name];
      if (g.size() == 0) g = Eigen::MatrixXd::Zero(cols, cols);
      Eigen::MatrixXf p(cols, cols);
      p.noalias() = xm.transpose() * xm;
      g += p.cast<double>();
    }
  }
  // A uniform sample of kSampleRows input rows per linear input (reservoir
  // sampling, a fixed seed per name: the same sentences give the same sample).
  static constexpr int64_t kSampleRows = 768;
  struct RowSample {
    std::vector<float> rows;  // [≤ kSampleRows, cols]
    int64_t seen = 0;
    std::mt19937_64 rng;
  };
  void sample_rows(const std::string& name, const float* x, int64_t rows, int64_t cols) {
    auto [it, fresh] = samples_.try_emplace(name);
    RowSample& s = it->second;
    if (fresh) s.rng.seed(crc32(name.data(), name.size()));
    for (int64_t r = 0; r < rows; ++r, ++s.seen) {
      int64_t slot = s.seen;
      if (slot >= kSampleRows) slot = static_cast<int64_t>(s.rng() % uint64_t(s.seen + 1));
      if (slot >= kSampleRows) continue;
      if (slot * cols >= int64_t(s.rows.size())) s.rows.resize((slot + 1) * cols);
      std::copy(x + r * cols, x + (r + 1) * cols, s.rows.begin() + slot * cols);
    }
  }
  std::map<std::string, RowSample> samples_;
  struct ColumnSquares {
    std::vector<double> sum;  // Σ x² per column
    int64_t rows = 0;
  };
  std::map<std::string, Histogram> hist_;
  std::map<std::string, ColumnSquares> columns_;
  std::map<std::string, Eigen::MatrixXd> gram_;  // Σ x xᵀ, with hessians_
  bool hessians_;
  std::map<std::string, double> abs_sum_;
  std::map<std::string, float> min_, max_;

 private:
  int bins_;
  std::mutex mu_;
};

// Every third sampled row is held back to judge the range the others chose.
InputSample split_sample(const Recorder::RowSample& r, int64_t cols, double min, double max) {
  InputSample s;
  s.cols = cols;
  s.min = min;
  s.max = max;
  const int64_t rows = static_cast<int64_t>(r.rows.size()) / cols;
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<float>& to = i % 3 == 2 ? s.check : s.fit;
    to.insert(to.end(), r.rows.begin() + i * cols, r.rows.begin() + (i + 1) * cols);
  }
  return s;
}

// Each linear layer's input range by the product's output error (Method::output)
// or the histogram method's threshold, then judged against dynamic quantization.
void choose_linear_inputs(Calibration& c, MarianWeights& weights, const Recorder& rec, const CalibrateOptions& opt) {
  std::vector<LinearProduct> products = linear_products(weights);
  Progress progress("choosing input ranges", static_cast<int64_t>(products.size()), opt.progress);
  for (const LinearProduct& p : products) {
    progress.advance(1);
    auto st = c.tensors.find(p.name);
    auto sample = rec.samples_.find(p.name);
    if (st == c.tensors.end() || sample == rec.samples_.end() || !p.parts[0].weight) continue;
    TensorStats& t = st->second;
    const InputSample in = split_sample(sample->second, p.parts[0].weight->dim(1), t.min, t.max);
    ProductChoice choice;
    if (opt.method == Method::output) {
      choice = choose_input_range(p, in, range_candidates(c.histograms.at(p.name), t.min, t.max, opt.percentile),
                                  opt.fallback);
    } else {
      choice = judge_input_range(p, in, {t.range(), method_name(opt.method)}, opt.fallback);
    }
    t.threshold = choice.input.threshold;
    t.asymmetric = choice.input.asymmetric;
    t.zero_point = choice.input.zero_point;
    t.chosen_by = choice.chosen_by;
    t.clipped_fraction = choice.clipped_fraction;
    t.static_error = choice.static_error;
    t.dynamic_error = choice.dynamic_error;
    t.int8_input = choice.mode;
  }
  progress.finish();
}

}  // namespace

Calibration calibrate(runtime::MarianModel& model, MarianWeights& weights, std::shared_ptr<const Vocabulary> vocab,
                      const std::vector<std::string>& sentences, const CalibrateOptions& opt,
                      const std::string& checksum) {
  Recorder rec(opt.bins, opt.hessians);
  model.set_observer(&rec);
  // The translator takes shared ownership; the model outlives this call, so alias it.
  std::shared_ptr<const runtime::MarianModel> view(std::shared_ptr<const runtime::MarianModel>(), &model);
  runtime::Translator tr(view, std::move(vocab));
  runtime::TranslateOptions t;
  t.batch_size = opt.batch_size;
  t.progress = opt.progress;
  try {
    tr.translate(sentences, t);
  } catch (...) {
    model.set_observer(nullptr);
    throw;
  }
  model.set_observer(nullptr);
  Calibration c;
  c.model_checksum = checksum;
  c.method = opt.method;
  c.bins = opt.bins;
  c.percentile = opt.percentile;
  c.sentences = static_cast<int64_t>(sentences.size());
  for (auto& [name, h] : rec.hist_) {
    TensorStats s;
    s.min = rec.min_[name];
    s.max = rec.max_[name];
    s.one_sided = s.min >= 0.0;
    s.asymmetric = s.one_sided;  // u8 over [0, T]
    s.threshold = threshold(h, opt.method, opt.percentile, s.one_sided);
    s.max_abs = h.max_abs();
    s.count = h.total();
    s.mean_abs = h.total() ? rec.abs_sum_[name] / h.total() : 0.0;
    if (auto it = rec.columns_.find(name); it != rec.columns_.end() && it->second.rows > 0)
      for (double v : it->second.sum) s.column_mean_square.push_back(float(v / double(it->second.rows)));
    // With a power-of-two bin count the coarse bins are whole groups of fine ones.
    const int coarse = std::min(kSummaryBins, h.bins()), group = h.bins() / coarse;
    s.histogram_range = h.range();
    s.histogram_counts.assign(coarse, 0);
    for (int b = 0; b < h.bins(); ++b) s.histogram_counts[std::min(b / group, coarse - 1)] += h.counts()[b];
    c.tensors[name] = s;
  }
  for (auto& [name, g] : rec.gram_) {
    calibrate::InputHessian& h = c.hessians[name];
    h.dim = g.rows();
    h.rows = rec.columns_[name].rows;
    h.values.resize(h.dim * h.dim);
    for (int64_t a = 0; a < h.dim; ++a)
      for (int64_t b = 0; b < h.dim; ++b)  // symmetric exactly, as the file requires
        h.values[a * h.dim + b] = float((a <= b ? g(a, b) : g(b, a)) / double(h.rows));
  }
  c.histograms = std::move(rec.hist_);
  choose_linear_inputs(c, weights, rec, opt);
  return c;
}

std::string model_checksum(const std::string& weights_file) {
  std::vector<uint8_t> bytes = read_binary_file(weights_file);
  char buf[32];
  std::snprintf(buf, sizeof buf, "crc32:%08x", crc32(bytes.data(), bytes.size()));
  return buf;
}

}  // namespace qtool::calibrate
