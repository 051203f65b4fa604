#include "quantize/gptq.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "util/error.h"
#include "util/half.h"

namespace qtool::quantize {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
constexpr int64_t kBlock = 128;      // columns per lazy update (GPTQ's block)
constexpr int64_t kMaxRefitGroups = 16;

// α [rows][bits][groups] (float values held in double) and a code per weight
// [rows][cols] (bit b set: plane b is +1): a binary code being worked on.
struct Code {
  int64_t rows, cols, group_size, groups;
  int bits;
  std::vector<double> alpha;
  std::vector<uint8_t> code;
  double a(int64_t r, int b, int64_t g) const { return alpha[(r * bits + b) * groups + g]; }
  double value(int64_t r, int64_t c) const {
    const int64_t g = c / group_size;
    double v = 0.0;
    for (int b = 0; b < bits; ++b) v += (code[r * cols + c] >> b & 1) ? a(r, b, g) : -a(r, b, g);
    return v;
  }
};

Code from_tensor(const BinaryCodeTensor& t) {
  Code c{t.rows, t.cols, t.group_size, t.groups(), t.bits, {}, std::vector<uint8_t>(t.rows * t.cols, 0)};
  c.alpha.assign(t.alphas_data(), t.alphas_data() + t.alpha_count());
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t col = 0; col < t.cols; ++col)
      for (int b = 0; b < t.bits; ++b)
        if (binary_code_sign(t, b, r, col) > 0) c.code[r * t.cols + col] |= uint8_t(1 << b);
  return c;
}

BinaryCodeTensor to_tensor(const Code& c) {
  BinaryCodeTensor t = BinaryCodeTensor::make(c.rows, c.cols, c.bits, c.group_size);
  for (size_t i = 0; i < c.alpha.size(); ++i) t.alphas[i] = float(c.alpha[i]);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t col = 0; col < c.cols; ++col)
      for (int b = 0; b < c.bits; ++b)
        if (c.code[r * c.cols + col] >> b & 1) binary_code_set_sign(t, b, r, col, true);
  return t;
}

Matrix to_matrix(const float* p, int64_t rows, int64_t cols) {
  Matrix m(rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m(r, c) = p[r * cols + c];
  return m;
}

double output_error(const Matrix& w, const Code& c, const Matrix& h) {
  Matrix d(c.rows, c.cols);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t col = 0; col < c.cols; ++col) d(r, col) = w(r, col) - c.value(r, col);
  return (d * h).cwiseProduct(d).sum();
}

// The sweep order: 0..n−1, or by decreasing diag H (stable, so ties keep their order).
std::vector<int64_t> sweep_order(const Matrix& h, bool act_order) {
  std::vector<int64_t> order(h.rows());
  std::iota(order.begin(), order.end(), 0);
  if (act_order)
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return h(x, x) > h(y, y); });
  return order;
}

// U with (P (H + λ·mean(diag H)·I) Pᵀ)⁻¹ = Uᵀ U, P the sweep order. A column
// no input reaches (H_jj = 0) gets H_jj = 1: its rounding moves nothing else.
// False when the damped H is not positive definite (or H is 0).
bool upper_factor(const Matrix& h, double damp, const std::vector<int64_t>& order, Matrix* u) {
  const int64_t n = h.rows();
  const double mean_diag = h.diagonal().mean();
  if (!(mean_diag > 0.0)) return false;
  Matrix hp(n, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) hp(i, j) = h(order[i], order[j]);
  for (int64_t i = 0; i < n; ++i) {
    if (hp(i, i) == 0.0) hp(i, i) = 1.0;
    hp(i, i) += damp * mean_diag;
  }
  Eigen::LLT<Matrix> llt(hp);
  if (llt.info() != Eigen::Success) return false;
  const Matrix inverse = llt.solve(Matrix::Identity(n, n));
  Eigen::LLT<Matrix> llt_inv(inverse);
  if (llt_inv.info() != Eigen::Success) return false;
  *u = llt_inv.matrixU();
  return true;
}

// Step 2: the codes of c become GPTQ's, for c's α.
void sweep(const Matrix& w, const Matrix& u, const std::vector<int64_t>& order, Code& c) {
  const int64_t rows = c.rows, n = c.cols, n_codes = int64_t(1) << c.bits;
  // Per (row, group): the codebook sorted, with the midpoints between neighbours.
  std::vector<double> sorted(rows * c.groups * n_codes), mid(rows * c.groups * n_codes);
  std::vector<uint8_t> code_of(rows * c.groups * n_codes);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < c.groups; ++g) {
      const int64_t base = (r * c.groups + g) * n_codes;
      std::vector<std::pair<double, int>> v(n_codes);
      for (int k = 0; k < n_codes; ++k) {
        v[k] = {0.0, k};
        for (int b = 0; b < c.bits; ++b) v[k].first += (k >> b & 1) ? c.a(r, b, g) : -c.a(r, b, g);
      }
      std::sort(v.begin(), v.end());
      for (int k = 0; k < n_codes; ++k) sorted[base + k] = v[k].first, code_of[base + k] = uint8_t(v[k].second);
      for (int k = 0; k + 1 < n_codes; ++k) mid[base + k] = 0.5 * (v[k].first + v[k + 1].first);
    }
  Matrix wp(rows, n);  // columns in sweep order, updated as the sweep goes
  for (int64_t j = 0; j < n; ++j) wp.col(j) = w.col(order[j]);
  for (int64_t i1 = 0; i1 < n; i1 += kBlock) {
    const int64_t i2 = std::min(n, i1 + kBlock);
    Matrix err(rows, i2 - i1);
    for (int64_t j = i1; j < i2; ++j) {
      const int64_t col = order[j], g = col / c.group_size;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t base = (r * c.groups + g) * n_codes;
        const double x = wp(r, j);
        int64_t k = 0;
        while (k + 1 < n_codes && x > mid[base + k]) ++k;
        c.code[r * n + col] = code_of[base + k];
        err(r, j - i1) = (x - sorted[base + k]) / u(j, j);
      }
      if (j + 1 < i2) wp.middleCols(j + 1, i2 - j - 1).noalias() -= err.col(j - i1) * u.row(j).segment(j + 1, i2 - j - 1);
    }
    if (i2 < n) wp.rightCols(n - i2).noalias() -= err * u.block(i1, i2, i2 - i1, n - i2);
  }
}

// Step 3: per row, α = (B H Bᵀ)⁻¹ B H w for the fixed signs, rounded to float;
// a row whose system is singular keeps its α.
void refit(const Matrix& w, const Matrix& h, Code& c) {
  const int64_t n = c.cols, k = c.bits * c.groups;
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t r = 0; r < c.rows; ++r) {
    Matrix bt = Matrix::Zero(n, k);  // Bᵀ: column (b, g) holds plane b's signs on group g
    for (int64_t col = 0; col < n; ++col)
      for (int b = 0; b < c.bits; ++b)
        bt(col, b * c.groups + col / c.group_size) = (c.code[r * n + col] >> b & 1) ? 1.0 : -1.0;
    const Matrix hbt = h * bt;
    const Matrix a = bt.transpose() * hbt;
    const Eigen::VectorXd rhs = hbt.transpose() * w.row(r).transpose();
    Eigen::LDLT<Matrix> ldlt(a);
    if (ldlt.info() != Eigen::Success || !(a.diagonal().minCoeff() > 0.0)) continue;
    const Eigen::VectorXd x = ldlt.solve(rhs);
    if (!x.allFinite() || ldlt.rcond() < 1e-12) continue;
    for (int b = 0; b < c.bits; ++b)
      for (int64_t g = 0; g < c.groups; ++g)  // halves, as the .qtm stores them (quantize_binary_code does the same)
        c.alpha[(r * c.bits + b) * c.groups + g] = round_to_half(float(x(b * c.groups + g)));
  }
}

// The weights are checked by quantize_binary_code.
void check_inputs(int64_t cols, const float* hessian, const GptqOptions& g) {
  if (!(g.damp >= 0.0) || g.damp > 10.0) fail("gptq", "damp " + std::to_string(g.damp) + " is not in [0, 10]");
  if (g.rounds < 1 || g.rounds > 10) fail("gptq", "rounds " + std::to_string(g.rounds) + " is not 1..10");
  for (int64_t i = 0; i < cols * cols; ++i)
    if (!std::isfinite(hessian[i]))
      fail("gptq", "hessian [" + std::to_string(i / cols) + ", " + std::to_string(i % cols) + "] is not finite");
  for (int64_t c = 0; c < cols; ++c)
    if (hessian[c * cols + c] < 0.0f) fail("gptq", "hessian diagonal [" + std::to_string(c) + "] is negative");
}

}  // namespace

double hessian_error(const float* w, const BinaryCodeTensor& t, const float* hessian) {
  return output_error(to_matrix(w, t.rows, t.cols), from_tensor(t), to_matrix(hessian, t.cols, t.cols));
}

std::vector<uint8_t> gptq_sweep(const float* w, const BinaryCodeTensor& t, const float* hessian,
                                const GptqOptions& gptq) {
  check_inputs(t.cols, hessian, gptq);
  const Matrix h = to_matrix(hessian, t.cols, t.cols);
  Code c = from_tensor(t);
  const std::vector<int64_t> order = sweep_order(h, gptq.act_order);
  Matrix u;
  if (!upper_factor(h, gptq.damp, order, &u)) fail("gptq", "the damped hessian is not positive definite");
  sweep(to_matrix(w, t.rows, t.cols), u, order, c);
  return c.code;
}

GptqResult quantize_binary_code_gptq(const float* w, int64_t rows, int64_t cols, const BinaryCodeOptions& opt,
                                     const float* hessian, const GptqOptions& gptq) {
  check_inputs(cols, hessian, gptq);
  std::vector<float> diag(cols);
  for (int64_t c = 0; c < cols; ++c) diag[c] = hessian[c * cols + c];
  BinaryCodeOptions start_opt = opt;
  start_opt.column_weights = diag.data();
  GptqResult res;
  res.code = quantize_binary_code(w, rows, cols, start_opt);
  const Matrix wm = to_matrix(w, rows, cols), h = to_matrix(hessian, cols, cols);
  const double norm = (wm * h).cwiseProduct(wm).sum();
  Code best = from_tensor(res.code.tensor);
  double best_err = output_error(wm, best, h);
  res.start_output_error = norm > 0.0 ? std::sqrt(std::max(0.0, best_err) / norm) : 0.0;
  const std::vector<int64_t> order = sweep_order(h, gptq.act_order);
  Matrix u;
  bool improved = false;
  if (upper_factor(h, gptq.damp, order, &u)) {
    Code c = best;
    for (int round = 0; round < gptq.rounds; ++round) {
      sweep(wm, u, order, c);
      if (c.groups <= kMaxRefitGroups) refit(wm, h, c);
      const double e = output_error(wm, c, h);
      if (!(e < best_err)) break;
      best_err = e, best = c, improved = true;
    }
  }
  res.output_error = norm > 0.0 ? std::sqrt(std::max(0.0, best_err) / norm) : 0.0;
  if (improved) {
    res.code.tensor = to_tensor(best);
    // The weight errors of the result (the greedy start's stays as it was).
    double e = 0.0, n2 = 0.0, we = 0.0, wn = 0.0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t col = 0; col < cols; ++col) {
        const double v = wm(r, col), d = v - best.value(r, col);
        e += d * d, n2 += v * v, we += diag[col] * d * d, wn += diag[col] * v * v;
      }
    res.code.relative_error = n2 > 0.0 ? std::sqrt(e / n2) : 0.0;
    res.code.weighted_relative_error = wn > 0.0 ? std::sqrt(we / wn) : 0.0;
  }
  return res;
}

std::vector<float> compensated_weights(const float* w, int64_t rows, int64_t cols, const float* hessian,
                                       const float* cross, double damp) {
  const Matrix h = to_matrix(hessian, cols, cols), c = to_matrix(cross, cols, cols), wm = to_matrix(w, rows, cols);
  const double mean_diag = h.diagonal().mean();
  std::vector<float> out(w, w + rows * cols);
  if (!(mean_diag > 0.0)) return out;
  Matrix hd = h;
  for (int64_t j = 0; j < cols; ++j) hd(j, j) += (h(j, j) == 0.0 ? 1.0 : 0.0) + damp * mean_diag;
  Eigen::LLT<Matrix> llt(hd);
  if (llt.info() != Eigen::Success) return out;
  const Matrix wt = llt.solve(c.transpose() * wm.transpose());  // W̃ᵀ = H⁻¹ Cᵀ Wᵀ
  if (!wt.allFinite()) return out;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      if (h(j, j) != 0.0) out[r * cols + j] = float(wt(j, r));
  return out;
}

}  // namespace qtool::quantize
