#include "calibrate/input_hessians.h"

#include <Eigen/Dense>
#include <algorithm>
#include <map>

#include "calibrate/paired_pass.h"
#include "util/error.h"

#include "runtime/translator.h"

namespace qtool::calibrate {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Σ x xᵀ and Σ x of one linear input: each call's product in float (`scratch`),
// accumulated in double.
struct Gram {
  Eigen::MatrixXd sum;
  Eigen::VectorXd column_sum;
  int64_t rows = 0;

  void add(const Eigen::Map<const RowMajor>& x, Eigen::MatrixXf& scratch) {
    if (sum.size() == 0) sum = Eigen::MatrixXd::Zero(x.cols(), x.cols()), column_sum = Eigen::VectorXd::Zero(x.cols());
    scratch.noalias() = x.transpose() * x;
    sum += scratch.cast<double>();
    column_sum += x.cast<double>().colwise().sum().transpose();
    rows += x.rows();
  }
  // E[x xᵀ], exactly symmetric (as the hessian file requires), row-major.
  std::vector<float> hessian() const {
    const int64_t d = sum.rows();
    std::vector<float> h(d * d);
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) h[a * d + b] = float((a <= b ? sum(a, b) : sum(b, a)) / double(rows));
    return h;
  }
  std::vector<float> mean() const {
    std::vector<float> m(column_sum.size());
    for (int64_t a = 0; a < column_sum.size(); ++a) m[a] = float(column_sum(a) / double(rows));
    return m;
  }
};

// Σ x xᵀ per linear input.
class GramRecorder final : public runtime::ActivationObserver {
 public:
  void observe(const std::string&, const float*, int64_t) override {}
  void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) override {
    if (rows <= 0 || cols <= 0) return;
    grams_[name].add(Eigen::Map<const RowMajor>(x, rows, cols), product_);
  }
  std::map<std::string, Gram> grams_;

 private:
  Eigen::MatrixXf product_;
};

// The reference model's inputs of the current call, by name, for PairRecorder.
class LastInputs final : public runtime::ActivationObserver {
 public:
  explicit LastInputs(const std::set<std::string>& wanted) : wanted_(wanted) {}
  void observe(const std::string&, const float*, int64_t) override {}
  void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) override {
    if (!wanted_.count(name)) return;
    Input& in = last_[name];
    in.x.assign(x, x + rows * cols);
    in.rows = rows, in.cols = cols;
  }
  struct Input {
    std::vector<float> x;
    int64_t rows = 0, cols = 0;
  };
  std::map<std::string, Input> last_;

 private:
  const std::set<std::string>& wanted_;
};

// Σ x̂ x̂ᵀ and Σ x̂ (a Gram of x̂), and Σ x x̂ᵀ per input, x from LastInputs at the same call.
class PairRecorder final : public runtime::ActivationObserver {
 public:
  PairRecorder(const LastInputs& ref, const std::set<std::string>& wanted) : ref_(ref), wanted_(wanted) {}
  void observe(const std::string&, const float*, int64_t) override {}
  void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) override {
    if (rows <= 0 || cols <= 0 || !wanted_.count(name)) return;
    auto it = ref_.last_.find(name);
    if (it == ref_.last_.end() || it->second.rows != rows || it->second.cols != cols)
      throw Error("paired hessians: the reference model's input of " + name + " is not the same shape (not one model?)");
    const Eigen::Map<const RowMajor> xq(x, rows, cols), xr(it->second.x.data(), rows, cols);
    grams_[name].add(xq, product_);
    Eigen::MatrixXd& cross = cross_[name];
    if (cross.size() == 0) cross = Eigen::MatrixXd::Zero(cols, cols);
    product_.noalias() = xr.transpose() * xq;
    cross += product_.cast<double>();
  }
  std::map<std::string, Gram> grams_;
  std::map<std::string, Eigen::MatrixXd> cross_;

 private:
  const LastInputs& ref_;
  const std::set<std::string>& wanted_;
  Eigen::MatrixXf product_;
};

}  // namespace

PairedHessians collect_paired_hessians(runtime::MarianModel& model, runtime::MarianModel& reference,
                                       const std::vector<std::vector<int>>& sources,
                                       const std::vector<std::vector<int>>& targets, int batch_size,
                                       const std::set<std::string>& inputs) {
  LastInputs last(inputs);
  PairRecorder rec(last, inputs);
  bool decode = false;
  for (const std::string& name : inputs) decode = decode || name.rfind("model.encoder.", 0) != 0;
  {
    PairedObservers scope(model, &rec, reference, &last);
    run_paired(model, reference, sources, targets, batch_size, decode);
  }
  PairedHessians out;
  for (const auto& [name, g] : rec.grams_) {
    out.h[name] = g.hessian();
    out.means[name] = g.mean();
    const Eigen::MatrixXd& cross = rec.cross_.at(name);
    const int64_t d = cross.rows();
    std::vector<float>& c = out.cross[name];
    c.resize(d * d);
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) c[a * d + b] = float(cross(a, b) / double(g.rows));
  }
  return out;
}

HessianPass collect_hessians(runtime::MarianModel& model, std::shared_ptr<const Vocabulary> vocab,
                             const std::vector<std::string>& sentences, const std::string& model_checksum,
                             bool progress) {
  GramRecorder rec;
  model.set_observer(&rec);
  std::shared_ptr<const runtime::MarianModel> view(std::shared_ptr<const runtime::MarianModel>(), &model);
  runtime::Translator tr(view, std::move(vocab));
  runtime::TranslateOptions t;
  t.batch_size = 32;
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
    h.values = g.hessian();
    pass.means[name] = g.mean();
  }
  return pass;
}

}  // namespace qtool::calibrate
