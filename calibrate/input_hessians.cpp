#include "calibrate/input_hessians.h"

#include <Eigen/Dense>
#include <map>

#include "runtime/translator.h"

namespace qtool::calibrate {
namespace {

// Σ x xᵀ per linear input: each call's product in float, accumulated in double.
class GramRecorder final : public runtime::ActivationObserver {
 public:
  void observe(const std::string&, const float*, int64_t) override {}
  void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) override {
    if (rows <= 0 || cols <= 0) return;
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const RowMajor> xm(x, rows, cols);
    Gram& g = grams_[name];
    if (g.sum.size() == 0) g.sum = Eigen::MatrixXd::Zero(cols, cols), g.column_sum = Eigen::VectorXd::Zero(cols);
    product_.noalias() = xm.transpose() * xm;
    g.sum += product_.cast<double>();
    g.column_sum += xm.cast<double>().colwise().sum().transpose();
    g.rows += rows;
  }
  struct Gram {
    Eigen::MatrixXd sum;
    Eigen::VectorXd column_sum;
    int64_t rows = 0;
  };
  std::map<std::string, Gram> grams_;

 private:
  Eigen::MatrixXf product_;
};

}  // namespace

HessianPass collect_hessians(runtime::MarianModel& model, std::shared_ptr<const Vocabulary> vocab,
                             const std::vector<std::string>& sentences, const std::string& model_checksum,
                             bool progress) {
  GramRecorder rec;
  model.set_observer(&rec);
  std::shared_ptr<const runtime::MarianModel> view(std::shared_ptr<const runtime::MarianModel>(), &model);
  runtime::Translator tr(view, std::move(vocab));
  runtime::TranslateOptions t;
  t.batch_size = 32;
  t.streams = 1;  // one observer call at a time, always in the same order
  t.progress = progress;
  HessianPass pass;
  try {
    pass.translations = tr.translate(sentences, t);
  } catch (...) {
    model.set_observer(nullptr);
    throw;
  }
  model.set_observer(nullptr);
  pass.hessians.model_checksum = model_checksum;
  pass.hessians.sentences = static_cast<int64_t>(sentences.size());
  for (auto& [name, g] : rec.grams_) {
    InputHessian& h = pass.hessians.tensors[name];
    h.dim = g.sum.rows();
    h.rows = g.rows;
    h.values.resize(h.dim * h.dim);
    for (int64_t a = 0; a < h.dim; ++a)
      for (int64_t b = 0; b < h.dim; ++b)  // exactly symmetric, as the hessian file requires
        h.values[a * h.dim + b] = float((a <= b ? g.sum(a, b) : g.sum(b, a)) / double(g.rows));
    std::vector<float>& mean = pass.means[name];
    for (int64_t a = 0; a < h.dim; ++a) mean.push_back(float(g.column_sum(a) / double(g.rows)));
  }
  return pass;
}

}  // namespace qtool::calibrate
