#include "calibrate/calibration.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>

#include "util/crc32.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::calibrate {
using nlohmann::json;

namespace {

class Recorder final : public runtime::ActivationObserver {
 public:
  explicit Recorder(int bins) : bins_(bins) {}
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
  }
  struct ColumnSquares {
    std::vector<double> sum;  // Σ x² per column
    int64_t rows = 0;
  };
  std::map<std::string, Histogram> hist_;
  std::map<std::string, ColumnSquares> columns_;
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
  Recorder rec(opt.bins);
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
    c.tensors[name] = s;
  }
  c.histograms = std::move(rec.hist_);
  return c;
}

std::map<std::string, CalibratedInput> Calibration::inputs() const {
  std::map<std::string, CalibratedInput> m;
  for (const auto& [name, s] : tensors) m[name] = {static_cast<float>(s.threshold), s.one_sided};
  return m;
}

std::string to_json(const Calibration& c) {
  json t = json::object();
  for (const auto& [name, s] : c.tensors) {
    t[name] = {{"threshold", s.threshold}, {"max_abs", s.max_abs}, {"mean_abs", s.mean_abs},
               {"min", s.min},             {"one_sided", s.one_sided}, {"count", s.count}};
    if (!s.column_mean_square.empty()) {
      // 7 significant digits: the shortest form of the double then stays short.
      json a = json::array();
      for (float v : s.column_mean_square) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.7g", double(v));
        a.push_back(std::strtod(buf, nullptr));
      }
      t[name]["column_mean_square"] = std::move(a);
    }
  }
  json j = {{"format", "qtool-calibration"}, {"version", 1},          {"model_checksum", c.model_checksum},
            {"method", method_name(c.method)}, {"bins", c.bins},       {"percentile", c.percentile},
            {"sentences", c.sentences},       {"tensors", t}};
  return j.dump(1) + "\n";
}

Calibration parse_calibration(const std::string& text, const std::string& file) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
    fail(file, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(file, "the top level must be a JSON object");
  auto need = [&](const char* key) -> const json& {
    if (!j.contains(key)) fail(file, std::string("missing field '") + key + "'");
    return j.at(key);
  };
  if (need("format") != "qtool-calibration") fail(file, "format: must be \"qtool-calibration\"");
  if (!need("version").is_number_integer() || j["version"].get<int>() != 1)
    fail(file, "version: " + j["version"].dump() + " is not supported (this qtool reads version 1)");
  Calibration c;
  if (!need("model_checksum").is_string()) fail(file, "model_checksum: must be a string");
  c.model_checksum = j["model_checksum"];
  if (!need("method").is_string()) fail(file, "method: must be a string");
  try {
    c.method = parse_method(j["method"]);
  } catch (const Error& e) {
    fail(file, std::string("method: ") + e.what());
  }
  if (j.contains("sentences") && j["sentences"].is_number_integer()) c.sentences = j["sentences"];
  const json& t = need("tensors");
  if (!t.is_object() || t.empty()) fail(file, "tensors: must be a non-empty object");
  for (const auto& [name, v] : t.items()) {
    if (!v.is_object() || !v.contains("threshold") || !v["threshold"].is_number())
      fail(file, "tensors." + name + ".threshold: missing or not a number");
    TensorStats s;
    s.threshold = v["threshold"];
    // Used as a float: a double past float's range would become infinity there.
    if (!std::isfinite(s.threshold) || s.threshold <= 0 || s.threshold > std::numeric_limits<float>::max())
      fail(file, "tensors." + name + ".threshold: " + v["threshold"].dump() + " is not a positive finite number");
    if (v.contains("max_abs") && v["max_abs"].is_number()) s.max_abs = v["max_abs"];
    if (v.contains("mean_abs") && v["mean_abs"].is_number()) s.mean_abs = v["mean_abs"];
    if (v.contains("count") && v["count"].is_number_integer()) s.count = v["count"];
    if (v.contains("min") && v["min"].is_number()) s.min = v["min"];
    if (v.contains("one_sided")) {
      if (!v["one_sided"].is_boolean()) fail(file, "tensors." + name + ".one_sided: must be true or false");
      s.one_sided = v["one_sided"];
    }
    if (v.contains("column_mean_square")) {
      const json& a = v["column_mean_square"];
      const std::string path = "tensors." + name + ".column_mean_square";
      if (!a.is_array() || a.empty()) fail(file, path + ": must be a non-empty array of numbers");
      s.column_mean_square.reserve(a.size());
      for (size_t i = 0; i < a.size(); ++i) {
        const double x = a[i].is_number() ? a[i].get<double>() : NAN;
        if (!std::isfinite(x) || x < 0 || x > std::numeric_limits<float>::max())
          fail(file, path + "[" + std::to_string(i) + "]: " + a[i].dump() + " is not a finite number >= 0");
        s.column_mean_square.push_back(float(x));
      }
    }
    c.tensors[name] = s;
  }
  return c;
}

std::string model_checksum(const std::string& weights_file) {
  std::vector<uint8_t> bytes = read_binary_file(weights_file);
  char buf[32];
  std::snprintf(buf, sizeof buf, "crc32:%08x", crc32(bytes.data(), bytes.size()));
  return buf;
}

}  // namespace qtool::calibrate
