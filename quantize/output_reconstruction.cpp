#include "quantize/output_reconstruction.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "quantize/reconstruction_fit.h"
#include "util/error.h"

namespace qtool::quantize {
namespace {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The code as vocabulary rows: row v of cluster tensor t (its local row r) has
// planes t.bits and α at alpha_at[v]. θ scales every α: α = α₀(1 + θ).
struct VocabCode {
  struct Row {
    const BinaryCodeTensor* t;
    int64_t local;
    int64_t alpha_at;  // index of its first α in the flat θ
  };
  std::vector<Row> rows;
  std::vector<float> alpha0;
  std::vector<int8_t> signs;  // [vocab][max_bits][d], 0 past a row's planes
  int max_bits = 0;
  int64_t d = 0;

  VocabCode(const ClusteredBinaryEmbedding* ce, const BinaryCodeTensor* bt, int64_t vocab, int64_t cols) : d(cols) {
    std::vector<const BinaryCodeTensor*> tensors;
    std::vector<int64_t> first;  // sorted row of each tensor's row 0
    if (ce) {
      for (size_t c = 0; c < ce->clusters.size(); ++c) tensors.push_back(&ce->clusters[c]), first.push_back(ce->offset(c));
    } else {
      tensors.push_back(bt), first.push_back(0);
    }
    for (const BinaryCodeTensor* t : tensors) max_bits = std::max(max_bits, t->bits);
    rows.resize(vocab);
    signs.assign(size_t(vocab * max_bits * d), 0);
    for (size_t k = 0; k < tensors.size(); ++k) {
      const BinaryCodeTensor& t = *tensors[k];
      if (t.cols != d) throw Error("output reconstruction: a code of the wrong width");
      for (int64_t r = 0; r < t.rows; ++r) {
        const int64_t sorted = first[k] + r, id = ce ? ce->order[sorted] : sorted;
        if (id < 0 || id >= vocab) throw Error("output reconstruction: a code row outside the vocabulary");
        rows[id] = {&t, r, int64_t(alpha0.size())};
        for (int b = 0; b < t.bits; ++b) {
          for (int64_t g = 0; g < t.groups(); ++g) alpha0.push_back(t.alpha(r, b, g));
          for (int64_t c = 0; c < d; ++c) signs[(id * max_bits + b) * d + c] = int8_t(binary_code_sign(t, b, r, c));
        }
      }
    }
  }
  // f(v, c, i, s) for every weight: vocabulary row v, column c, its α's index i
  // in θ and the sign s of that plane (one term of Ŵ(v, c) = Σ α_i s).
  template <class F>
  void each_term(F f) const {
    for (int64_t v = 0; v < int64_t(rows.size()); ++v) {
      const Row& row = rows[v];
      const int64_t gs = row.t->group_size, groups = row.t->groups();
      for (int b = 0; b < row.t->bits; ++b)
        for (int64_t c = 0; c < d; ++c)
          f(v, c, row.alpha_at + b * groups + c / gs, float(signs[(v * max_bits + b) * d + c]));
    }
  }
  // Ŵ [vocab, d] at θ.
  void decode(const std::vector<float>& theta, Mat& w) const {
    w.setZero(int64_t(rows.size()), d);
    each_term([&](int64_t v, int64_t c, int64_t i, float s) { w(v, c) += alpha0[i] * (1 + theta[i]) * s; });
  }
  // dL/dθ from dL/dŴ.
  void gradient(const Mat& dw, std::vector<float>& g) const {
    std::fill(g.begin(), g.end(), 0.0f);
    each_term([&](int64_t v, int64_t c, int64_t i, float s) { g[i] += alpha0[i] * dw(v, c) * s; });
  }
  // A copy of tensor `t` with the α at θ.
  BinaryCodeTensor fitted(const BinaryCodeTensor& t, const std::vector<float>& theta) const {
    BinaryCodeTensor out = BinaryCodeTensor::make(t.rows, t.cols, t.bits, t.group_size);
    out.planes.assign(t.planes_data(), t.planes_data() + t.plane_words());
    for (const Row& row : rows) {
      if (row.t != &t) continue;
      for (int64_t k = 0; k < t.bits * t.groups(); ++k)
        out.alphas[row.local * t.bits * t.groups() + k] = alpha0[row.alpha_at + k] * (1 + theta[row.alpha_at + k]);
    }
    return out;
  }
};

// Row-wise softmax of `z` in place; returns Σ_rows log-sum-exp (for the KL).
void softmax_rows(Mat& z, Eigen::VectorXd& lse) {
  lse.resize(z.rows());
  for (int64_t r = 0; r < z.rows(); ++r) {
    const float m = z.row(r).maxCoeff();
    double s = 0;
    for (int64_t c = 0; c < z.cols(); ++c) s += std::exp(double(z(r, c) - m));
    lse(r) = m + std::log(s);
    z.row(r) = (z.row(r).array() - float(lse(r))).exp();
  }
}

// KL(p ‖ p̂) per row, summed: Σ p (log p − log p̂); log p̂ = z − lse from the logits before softmax.
double kl_sum(const Mat& p, const Mat& log_p, const Mat& logits_q, const Eigen::VectorXd& lse_q) {
  double kl = 0;
  for (int64_t r = 0; r < p.rows(); ++r)
    for (int64_t c = 0; c < p.cols(); ++c)
      if (p(r, c) > 0) kl += double(p(r, c)) * (double(log_p(r, c)) - (double(logits_q(r, c)) - lse_q(r)));
  return kl;
}

}  // namespace

OutputFit reconstruct_output(const Tensor& weight, const float* bias,
                             const std::shared_ptr<const ClusteredBinaryEmbedding>& clustered,
                             const std::shared_ptr<const BinaryCodeTensor>& binary, const float* h_ref,
                             const float* h_q, int64_t rows, const ReconstructionOptions& opt) {
  if (weight.shape.size() != 2 || bool(clustered) == bool(binary) || rows < 1)
    throw Error("output reconstruction: needs the FP32 projection, one code and some rows");
  const int64_t vocab = weight.dim(0), d = weight.dim(1);
  const VocabCode code(clustered.get(), binary.get(), vocab, d);
  const Eigen::Map<const Mat> w(weight.data.data(), vocab, d);
  Eigen::RowVectorXf b = bias ? Eigen::RowVectorXf(Eigen::Map<const Eigen::RowVectorXf>(bias, vocab))
                              : Eigen::RowVectorXf::Zero(vocab);
  const HeldOutRows split = held_out_rows(rows);
  auto gather = [&](const float* m, const std::vector<int64_t>& idx) {
    Mat out(int64_t(idx.size()), d);
    for (size_t i = 0; i < idx.size(); ++i) out.row(int64_t(i)) = Eigen::Map<const Eigen::RowVectorXf>(m + idx[i] * d, d);
    return out;
  };
  // The FP32 distributions, once.
  auto reference = [&](const std::vector<int64_t>& idx, Mat& p, Mat& log_p) {
    p.noalias() = gather(h_ref, idx) * w.transpose();
    p.rowwise() += b;
    Eigen::VectorXd lse;
    log_p = p;
    softmax_rows(p, lse);
    for (int64_t r = 0; r < log_p.rows(); ++r) log_p.row(r).array() -= float(lse(r));
  };
  Mat p, log_p, pc, log_pc;
  reference(split.fit, p, log_p);
  reference(split.check, pc, log_pc);
  const Mat x = gather(h_q, split.fit), xc = gather(h_q, split.check);

  std::vector<float> theta(code.alpha0.size(), 0.0f), best = theta, grad(theta.size());
  Adam adam(theta.size());
  Mat wq, z, zc, logits;
  Eigen::VectorXd lse;
  auto check_kl = [&] {
    zc.noalias() = xc * wq.transpose();
    zc.rowwise() += b;
    logits = zc;
    softmax_rows(zc, lse);
    return kl_sum(pc, log_pc, logits, lse) / double(xc.rows());
  };
  code.decode(theta, wq);
  OutputFit out;
  ReconstructionResult& res = out.result;
  res.start_error = res.error = check_kl();
  for (int it = 1; it <= opt.iterations; ++it) {
    z.noalias() = x * wq.transpose();
    z.rowwise() += b;
    softmax_rows(z, lse);
    z -= p;                                   // dKL/dlogits, summed over rows (÷ rows below)
    const Mat dw = (z.transpose() * x) / float(x.rows());
    code.gradient(dw, grad);
    adam.step(theta, grad, opt.learning_rate);
    code.decode(theta, wq);
    const double e = check_kl();
    if (e < res.error) res.error = e, res.best_iteration = it, best = theta;
  }
  if (clustered) {
    auto ce = std::make_shared<ClusteredBinaryEmbedding>();
    ce->rows = clustered->rows, ce->cols = clustered->cols, ce->order = clustered->order;
    for (const BinaryCodeTensor& t : clustered->clusters) ce->clusters.push_back(code.fitted(t, best));
    finish_clustered_embedding(*ce, "output reconstruction");
    out.clustered = std::move(ce);
  } else {
    out.binary = std::make_shared<BinaryCodeTensor>(code.fitted(*binary, best));
  }
  return out;
}

}  // namespace qtool::quantize
