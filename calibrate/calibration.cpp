#include "calibrate/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "util/crc32.h"
#include "util/error.h"
#include "util/file.h"

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
    float lo = min_.count(name) ? min_[name] : x[0];
    for (int64_t i = 0; i < count; ++i) s += std::fabs(x[i]), lo = std::min(lo, x[i]);
    abs_sum_[name] += s;
    min_[name] = lo;
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
  struct ColumnSquares {
    std::vector<double> sum;  // Σ x² per column
    int64_t rows = 0;
  };
  std::map<std::string, Histogram> hist_;
  std::map<std::string, ColumnSquares> columns_;
  std::map<std::string, Eigen::MatrixXd> gram_;  // Σ x xᵀ, with hessians_
  bool hessians_;
  std::map<std::string, double> abs_sum_;
  std::map<std::string, float> min_;

 private:
  int bins_;
  std::mutex mu_;
};

}  // namespace

Calibration calibrate(runtime::MarianModel& model, std::shared_ptr<const Vocabulary> vocab,
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
    s.one_sided = s.min >= 0.0;
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
  return c;
}

std::string model_checksum(const std::string& weights_file) {
  std::vector<uint8_t> bytes = read_binary_file(weights_file);
  char buf[32];
  std::snprintf(buf, sizeof buf, "crc32:%08x", crc32(bytes.data(), bytes.size()));
  return buf;
}

}  // namespace qtool::calibrate
