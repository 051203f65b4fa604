#include "quantize/block_reconstruction.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "model/qtensor.h"
#include "quantize/reconstruction_fit.h"
#include "util/error.h"

namespace qtool::quantize {
namespace {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::RowVectorXf;

constexpr double kLayerNormEps = 1e-5;  // the runtime's (ops/elementwise.h)

// The model's activations (runtime/kernels/vec_kernels.h) in double.
double activate(Activation a, double x) {
  switch (a) {
    case Activation::relu: return x > 0 ? x : 0;
    case Activation::silu: return x / (1 + std::exp(-x));
    case Activation::gelu: return 0.5 * x * (1 + std::erf(x * 0.70710678118654752));
    case Activation::gelu_tanh: return 0.5 * x * (1 + std::tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)));
    case Activation::quick_gelu: return x / (1 + std::exp(-1.702 * x));
    case Activation::tanh: return std::tanh(x);
    case Activation::sigmoid: return 1 / (1 + std::exp(-x));
    case Activation::relu6: return std::min(std::max(x, 0.0), 6.0);
    case Activation::leaky_relu: return x > 0 ? x : 0.01 * x;
    case Activation::mish: return x * std::tanh(std::log1p(std::exp(std::min(x, 20.0))));
  }
  return x;
}

// Its slope by a central difference in double: one rule for every activation,
// accurate to ~1e-8 where smooth (at a kink, the mean of both sides).
double activation_slope(Activation a, double x) {
  const double h = 1e-4 * (1 + std::abs(x));
  return (activate(a, x + h) - activate(a, x - h)) / (2 * h);
}

// One linear layer's weights as the fit sees them: Ŵ = Σ_b α_b ⊙ S_b for a
// binary code (S_b its ±1 signs), else fixed. θ scales α: α = α₀ (1 + θ).
struct FitLinear {
  const BinaryCodeTensor* code = nullptr;  // null: the weight is fixed
  int64_t rows = 0, cols = 0, groups = 1, group_size = 0;
  std::vector<Mat> signs;                  // per plane, [rows, cols]
  std::vector<float> alpha0;               // [rows][bits][groups]
  Mat fixed;                               // FP32 or dequantized INT8
  Mat w;                                   // the current Ŵ

  explicit FitLinear(const LinearWeights& l) {
    if (l.binary) {
      code = l.binary.get();
      rows = code->rows, cols = code->cols, groups = code->groups(), group_size = code->group_size;
      alpha0.assign(code->alphas_data(), code->alphas_data() + code->alpha_count());
      for (int b = 0; b < code->bits; ++b) {
        Mat s(rows, cols);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) s(r, c) = float(binary_code_sign(*code, b, r, c));
        signs.push_back(std::move(s));
      }
    } else if (l.int8) {
      rows = l.int8->rows, cols = l.int8->cols;
      fixed = Eigen::Map<const Mat>(dequantize(*l.int8).data(), rows, cols);
    } else if (l.weight && l.weight->shape.size() == 2) {
      rows = l.weight->dim(0), cols = l.weight->dim(1);
      fixed = Eigen::Map<const Mat>(l.weight->data.data(), rows, cols);
    } else {
      throw Error("block reconstruction: a feed-forward layer with no weight it can read");
    }
    if (!code) w = fixed;
  }
  int64_t theta_count() const { return code ? int64_t(alpha0.size()) : 0; }
  float alpha(const float* theta, int64_t i) const { return alpha0[i] * (1 + theta[i]); }
  void decode(const float* theta) {
    if (!code) return;
    w.setZero(rows, cols);
    const int bits = code->bits;
    for (int64_t r = 0; r < rows; ++r)
      for (int b = 0; b < bits; ++b)
        for (int64_t g = 0; g < groups; ++g) {
          const int64_t c0 = g * group_size, n = std::min(cols, c0 + group_size) - c0;
          w.row(r).segment(c0, n) += alpha(theta, (r * bits + b) * groups + g) * signs[b].row(r).segment(c0, n);
        }
  }
  // dL/dθ from dL/dŴ.
  void theta_gradient(const Mat& dw, float* grad) const {
    const int bits = code->bits;
    for (int64_t r = 0; r < rows; ++r)
      for (int b = 0; b < bits; ++b)
        for (int64_t g = 0; g < groups; ++g) {
          const int64_t c0 = g * group_size, n = std::min(cols, c0 + group_size) - c0;
          const int64_t i = (r * bits + b) * groups + g;
          grad[i] = alpha0[i] * dw.row(r).segment(c0, n).dot(signs[b].row(r).segment(c0, n));
        }
  }
  std::shared_ptr<const BinaryCodeTensor> fitted(const float* theta) const {
    auto t = std::make_shared<BinaryCodeTensor>(BinaryCodeTensor::make(rows, cols, code->bits, group_size));
    t->planes.assign(code->planes_data(), code->planes_data() + code->plane_words());
    for (int64_t i = 0; i < theta_count(); ++i) t->alphas[i] = alpha(theta, i);
    return t;
  }
};

Vec vector_of(const TensorPtr& t, int64_t n, float fill) {
  if (!t) return Vec::Constant(n, fill);
  if (t->numel() != n) throw Error("block reconstruction: a bias or LayerNorm of the wrong length");
  return Eigen::Map<const Vec>(t->data.data(), n);
}

TensorPtr tensor_of(const Vec& v) {
  return std::make_shared<Tensor>(Tensor{{v.size()}, std::vector<float>(v.data(), v.data() + v.size())});
}

// LayerNorm over each row: out = γ ⊙ x̂ + β, x̂ = (x − μ)/σ; keeps x̂ and 1/σ for the backward pass.
struct LayerNorm {
  Mat normed;
  Eigen::VectorXf inv_sigma;
  void forward(const Mat& x, const Vec& gamma, const Vec& beta, Mat& out) {
    normed.resize(x.rows(), x.cols());
    inv_sigma.resize(x.rows());
    for (int64_t r = 0; r < x.rows(); ++r) {
      const double mean = x.row(r).cast<double>().mean();
      const double var = (x.row(r).cast<double>().array() - mean).square().mean();
      inv_sigma(r) = float(1 / std::sqrt(var + kLayerNormEps));
      normed.row(r) = (x.row(r).array() - float(mean)) * inv_sigma(r);
    }
    out = (normed.array().rowwise() * gamma.array()).rowwise() + beta.array();
  }
  // dx from dout; adds to dγ, dβ.
  void backward(const Mat& dout, const Vec& gamma, Mat& dx, Vec& dgamma, Vec& dbeta) const {
    dgamma += (dout.array() * normed.array()).colwise().sum().matrix();
    dbeta += dout.colwise().sum();
    const Mat dn = dout.array().rowwise() * gamma.array();
    dx.resize(dout.rows(), dout.cols());
    const float n = float(dout.cols());
    for (int64_t r = 0; r < dout.rows(); ++r) {
      const float m1 = dn.row(r).sum() / n, m2 = dn.row(r).dot(normed.row(r)) / n;
      dx.row(r) = inv_sigma(r) * (dn.row(r).array() - m1 - normed.row(r).array() * m2);
    }
  }
};

// Every fitted number in one vector θ, each part scaled to its tensor:
// α = α₀(1 + θ), γ = γ₀(1 + θ), a bias or β = v₀ + s·θ (s its RMS, at least 1e-3).
struct Params {
  FitLinear fc1, fc2;
  Vec b1_0, b2_0, gamma0, beta0;
  float s_b1 = 0, s_b2 = 0, s_beta = 0;
  int64_t off_a2 = 0, off_b1 = 0, off_b2 = 0, off_g = 0, off_be = 0, total = 0;
  // The values at θ:
  Vec b1, b2, gamma, beta;

  explicit Params(const FfnBlock& blk, int64_t d) : fc1(blk.fc1), fc2(blk.fc2) {
    if (fc1.cols != d || fc2.rows != d || fc2.cols != fc1.rows)
      throw Error("block reconstruction: fc1 / fc2 shapes do not fit d_model " + std::to_string(d));
    b1_0 = vector_of(blk.fc1.bias, fc1.rows, 0), b2_0 = vector_of(blk.fc2.bias, d, 0);
    gamma0 = vector_of(blk.norm.gamma, d, 1), beta0 = vector_of(blk.norm.beta, d, 0);
    auto rms = [](const Vec& v) { return std::max(1e-3f, std::sqrt(v.squaredNorm() / float(v.size()))); };
    s_b1 = rms(b1_0), s_b2 = rms(b2_0), s_beta = rms(beta0);
    off_a2 = fc1.theta_count();
    off_b1 = off_a2 + fc2.theta_count();
    off_b2 = off_b1 + fc1.rows;
    off_g = off_b2 + d;
    off_be = off_g + d;
    total = off_be + d;
  }
  void set(const std::vector<float>& t) {
    fc1.decode(t.data());
    fc2.decode(t.data() + off_a2);
    const int64_t f = fc1.rows, d = fc2.rows;
    b1 = b1_0 + s_b1 * Eigen::Map<const Vec>(t.data() + off_b1, f);
    b2 = b2_0 + s_b2 * Eigen::Map<const Vec>(t.data() + off_b2, d);
    gamma = gamma0.array() * (1 + Eigen::Map<const Vec>(t.data() + off_g, d).array());
    beta = beta0 + s_beta * Eigen::Map<const Vec>(t.data() + off_be, d);
  }
};

// The block's forward pass at the current parameters, keeping what backward needs.
struct Pass {
  LayerNorm ln;
  Mat u, h, a, y;  // fc1 input, fc1 output, activation, block output
  void forward(const FfnBlock& blk, const Params& p, const Mat& x) {
    if (blk.pre_norm) ln.forward(x, p.gamma, p.beta, u);
    const Mat& in = blk.pre_norm ? u : x;
    h.noalias() = in * p.fc1.w.transpose();
    h.rowwise() += p.b1;
    a = h.unaryExpr([&](float v) { return float(activate(blk.activation, v)); });
    y.noalias() = a * p.fc2.w.transpose();
    y.rowwise() += p.b2;
    y += x;
    if (!blk.pre_norm) {
      Mat r = std::move(y);
      ln.forward(r, p.gamma, p.beta, y);
    }
  }
};

double squared_error(const Mat& y, const Mat& target) { return (y - target).cast<double>().squaredNorm(); }

// dL/dθ for L = Σ(y − target)² / norm, at the parameters of `pass`.
void gradient(const FfnBlock& blk, const Params& p, const Mat& x, const Pass& pass, const Mat& target, double norm,
              std::vector<float>& g) {
  const int64_t d = x.cols();
  std::fill(g.begin(), g.end(), 0.0f);
  Vec dgamma = Vec::Zero(d), dbeta = Vec::Zero(d);
  Mat dz = (2.0f / float(norm)) * (pass.y - target);
  if (!blk.pre_norm) {
    Mat dr;
    pass.ln.backward(dz, p.gamma, dr, dgamma, dbeta);
    dz = std::move(dr);
  }
  Mat dh = dz * p.fc2.w;  // dL/da, then ⊙ act'(h)
  dh.array() *= pass.h.unaryExpr([&](float v) { return float(activation_slope(blk.activation, v)); }).array();
  const Mat& in = blk.pre_norm ? pass.u : x;
  if (p.fc2.code) p.fc2.theta_gradient(dz.transpose() * pass.a, g.data() + p.off_a2);
  if (p.fc1.code) p.fc1.theta_gradient(dh.transpose() * in, g.data());
  // A bias or β the layer does not have stays absent: its θ never moves.
  if (blk.fc1.bias) Eigen::Map<Vec>(g.data() + p.off_b1, p.fc1.rows) = p.s_b1 * dh.colwise().sum();
  if (blk.fc2.bias) Eigen::Map<Vec>(g.data() + p.off_b2, d) = p.s_b2 * dz.colwise().sum();
  if (blk.pre_norm) {
    const Mat du = dh * p.fc1.w;
    Mat dx;
    pass.ln.backward(du, p.gamma, dx, dgamma, dbeta);
  }
  Eigen::Map<Vec>(g.data() + p.off_g, d) = dgamma.array() * p.gamma0.array();
  if (blk.norm.beta) Eigen::Map<Vec>(g.data() + p.off_be, d) = p.s_beta * dbeta;
}

}  // namespace

void ffn_block_forward(const FfnBlock& b, const float* in, int64_t rows, float* out) {
  const int64_t d = b.fc2.binary ? b.fc2.binary->rows : b.fc2.int8 ? b.fc2.int8->rows : b.fc2.weight->dim(0);
  Params p(b, d);
  p.set(std::vector<float>(size_t(p.total), 0.0f));
  Pass pass;
  pass.forward(b, p, Eigen::Map<const Mat>(in, rows, d));
  Eigen::Map<Mat>(out, rows, d) = pass.y;
}

ReconstructionResult reconstruct_ffn_block(FfnBlock& b, const float* in, const float* target, int64_t rows,
                                           const ReconstructionOptions& opt) {
  const int64_t d = b.norm.gamma ? b.norm.gamma->numel() : 0;
  if (rows < 1 || d < 1) throw Error("block reconstruction: no rows, or a sub-layer without its LayerNorm");
  Params p(b, d);
  const Eigen::Map<const Mat> all_in(in, rows, d), all_target(target, rows, d);
  const HeldOutRows split = held_out_rows(rows);
  auto gather = [&](const Eigen::Map<const Mat>& m, const std::vector<int64_t>& idx) {
    Mat out(int64_t(idx.size()), d);
    for (size_t i = 0; i < idx.size(); ++i) out.row(int64_t(i)) = m.row(idx[i]);
    return out;
  };
  const Mat x = gather(all_in, split.fit), y = gather(all_target, split.fit);
  const Mat xc = gather(all_in, split.check), yc = gather(all_target, split.check);
  const double norm = std::max(1e-30, y.cast<double>().squaredNorm());
  const double check_norm = std::max(1e-30, yc.cast<double>().squaredNorm());

  std::vector<float> theta(size_t(p.total), 0.0f), best = theta, grad(theta.size());
  Adam adam(theta.size());
  Pass pass, check;
  auto check_error = [&] {
    check.forward(b, p, xc);
    return std::sqrt(squared_error(check.y, yc) / check_norm);
  };
  p.set(theta);
  ReconstructionResult res;
  res.start_error = res.error = check_error();
  for (int it = 1; it <= opt.iterations; ++it) {
    pass.forward(b, p, x);
    gradient(b, p, x, pass, y, norm, grad);
    adam.step(theta, grad, opt.learning_rate);
    p.set(theta);
    const double e = check_error();
    if (e < res.error) res.error = e, res.best_iteration = it, best = theta;
  }
  p.set(best);
  if (p.fc1.code) b.fc1.binary = p.fc1.fitted(best.data());
  if (p.fc2.code) b.fc2.binary = p.fc2.fitted(best.data() + p.off_a2);
  if (b.fc1.bias) b.fc1.bias = tensor_of(p.b1);
  if (b.fc2.bias) b.fc2.bias = tensor_of(p.b2);
  b.norm.gamma = tensor_of(p.gamma);
  if (b.norm.beta) b.norm.beta = tensor_of(p.beta);
  return res;
}

}  // namespace qtool::quantize
