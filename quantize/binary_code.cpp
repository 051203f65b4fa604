#include "quantize/binary_code.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/half.h"

namespace qtool::quantize {
namespace {

constexpr int kMaxBits = 4;
constexpr int kMaxCodes = 1 << kMaxBits;

// One (row, group) slice: its weights, their column weights h (null: all 1),
// Σh (n when unweighted), and per weight a code whose bit b set means s_b = +1.
// α is kept in double but always rounded to float values.
struct Slice {
  const float* w;
  const float* h;
  double h_sum;
  int64_t n;
  int bits;
  uint8_t* code;
  double weight(int64_t i) const { return h ? double(h[i]) : 1.0; }
};

// The value Σ_b α_b s_b of every code.
void code_values(const double* alpha, int bits, double* v) {
  for (int c = 0; c < (1 << bits); ++c) {
    v[c] = 0.0;
    for (int b = 0; b < bits; ++b) v[c] += (c >> b & 1) ? alpha[b] : -alpha[b];
  }
}

// Σ h (w − ŵ)² (the plain squared error when unweighted): what the refinement minimises.
double squared_error(const Slice& s, const double* alpha) {
  double v[kMaxCodes];
  code_values(alpha, s.bits, v);
  double e = 0.0;
  for (int64_t i = 0; i < s.n; ++i) {
    const double d = double(s.w[i]) - v[s.code[i]];
    e += s.weight(i) * d * d;
  }
  return e;
}

// Σ (w − ŵ)², and Σ h (w − ŵ)² for the given h (null: not computed).
double plain_error(const Slice& s, const double* alpha, const float* h, double* weighted) {
  double v[kMaxCodes];
  code_values(alpha, s.bits, v);
  double e = 0.0, we = 0.0;
  for (int64_t i = 0; i < s.n; ++i) {
    const double d = double(s.w[i]) - v[s.code[i]];
    e += d * d;
    if (h) we += double(h[i]) * d * d;
  }
  if (weighted) *weighted = h ? we : e;
  return e;
}

void greedy(const Slice& s, double* alpha, std::vector<double>& residual) {
  residual.assign(s.w, s.w + s.n);
  std::fill(s.code, s.code + s.n, 0);
  for (int b = 0; b < s.bits; ++b) {
    double sum = 0.0;
    if (s.h)
      for (int64_t i = 0; i < s.n; ++i) sum += double(s.h[i]) * std::abs(residual[i]);
    else
      for (double r : residual) sum += std::abs(r);
    alpha[b] = float(sum / s.h_sum);  // α is stored as float: refine what is stored
    for (int64_t i = 0; i < s.n; ++i) {
      const bool pos = residual[i] >= 0.0;  // sign(0) = +1
      s.code[i] |= uint8_t(pos) << b;
      residual[i] -= pos ? alpha[b] : -alpha[b];
    }
  }
}

// (a) Least squares for fixed signs: BᵀHB α = BᵀHw (H = diag(h), I unweighted),
// by Gaussian elimination with partial pivoting; false when it is singular.
bool least_squares_alpha(const Slice& s, double* alpha) {
  const int q = s.bits;
  // BᵀHB and BᵀHw only depend on the weight each code carries and its weighted sum.
  double count[kMaxCodes] = {}, sum[kMaxCodes] = {};
  for (int64_t i = 0; i < s.n; ++i) {
    const double h = s.weight(i);
    count[s.code[i]] += h;
    sum[s.code[i]] += h * s.w[i];
  }
  double a[kMaxBits][kMaxBits + 1] = {};
  for (int c = 0; c < (1 << q); ++c)
    for (int j = 0; j < q; ++j) {
      const double sj = (c >> j & 1) ? 1.0 : -1.0;
      for (int k = 0; k < q; ++k) a[j][k] += sj * ((c >> k & 1) ? 1.0 : -1.0) * count[c];
      a[j][q] += sj * sum[c];
    }
  for (int col = 0; col < q; ++col) {
    int piv = col;
    for (int r = col + 1; r < q; ++r)
      if (std::abs(a[r][col]) > std::abs(a[piv][col])) piv = r;
    if (std::abs(a[piv][col]) < 1e-9 * s.h_sum) return false;
    std::swap(a[piv], a[col]);
    for (int r = 0; r < q; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int k = col; k <= q; ++k) a[r][k] -= f * a[col][k];
    }
  }
  for (int j = 0; j < q; ++j) alpha[j] = a[j][q] / a[j][j];
  return true;
}

// (b) The nearest code for every weight under fixed α: sort the 2^q values and
// count the midpoints below w. The nearest value does not depend on h_i, so the
// codes are those of the unweighted step. Returns the (weighted) squared error.
double nearest_codes(const Slice& s, const double* alpha) {
  const int n_codes = 1 << s.bits;
  double v[kMaxCodes];
  code_values(alpha, s.bits, v);
  int order[kMaxCodes];
  std::iota(order, order + n_codes, 0);
  std::sort(order, order + n_codes, [&](int x, int y) { return v[x] < v[y]; });
  double mid[kMaxCodes - 1];
  for (int t = 0; t + 1 < n_codes; ++t) mid[t] = 0.5 * (v[order[t]] + v[order[t + 1]]);
  double e = 0.0;
  for (int64_t i = 0; i < s.n; ++i) {
    const double w = s.w[i];
    int k = 0;
    for (int t = 0; t + 1 < n_codes; ++t) k += w > mid[t];
    s.code[i] = uint8_t(order[k]);
    const double d = w - v[order[k]];
    e += s.weight(i) * d * d;
  }
  return e;
}

// Greedy start, then alternating rounds keeping the best (α, codes) seen under
// the slice's (weighted) error. Returns the greedy start's unweighted squared
// error; alpha and s.code end as the best.
double quantize_slice(const Slice& s, int iterations, double* alpha, std::vector<double>& scratch,
                      std::vector<uint8_t>& best_code) {
  greedy(s, alpha, scratch);
  const double greedy_plain = plain_error(s, alpha, nullptr, nullptr);
  double best = squared_error(s, alpha);
  for (int it = 0; it < iterations; ++it) {
    const double before = best;
    double trial[kMaxBits];
    std::copy(alpha, alpha + s.bits, trial);
    if (least_squares_alpha(s, trial)) {
      for (int b = 0; b < s.bits; ++b) trial[b] = float(trial[b]);
      const double e = squared_error(s, trial);
      if (e < best) {
        best = e;
        std::copy(trial, trial + s.bits, alpha);
      }
    }
    best_code.assign(s.code, s.code + s.n);
    const double e = nearest_codes(s, alpha);
    if (e < best) best = e;
    else std::copy(best_code.begin(), best_code.end(), s.code);  // not better: undo
    if (!(best < before * (1.0 - 1e-12))) break;  // converged
  }
  return greedy_plain;
}

}  // namespace

BinaryCodeResult quantize_binary_code(const float* w, int64_t rows, int64_t cols, const BinaryCodeOptions& opt) {
  BinaryCodeResult res;
  if (opt.iterations < 0) fail("binary code quantization", "iterations must be >= 0");
  res.tensor = BinaryCodeTensor::make(rows, cols, opt.bits, opt.group_size);  // checks the shape
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(w[i]))
      fail("binary code quantization", "weight [" + std::to_string(i / cols) + ", " + std::to_string(i % cols) +
                                           "] is not finite");
  const float* hw = opt.column_weights;
  if (hw)
    for (int64_t c = 0; c < cols; ++c)
      if (!std::isfinite(hw[c]) || hw[c] < 0.0f)
        fail("binary code quantization", "column weight [" + std::to_string(c) + "] = " + std::to_string(hw[c]) +
                                             " is not a finite number >= 0");
  BinaryCodeTensor& t = res.tensor;
  const int bits = t.bits;
  const int64_t gs = t.group_size, groups = t.groups();
  // Σh per group: a group whose weights sum to 0 is quantized unweighted.
  std::vector<double> group_h(hw ? groups : 0, 0.0);
  for (int64_t g = 0; g < int64_t(group_h.size()); ++g)
    for (int64_t c = g * gs; c < std::min(cols, g * gs + gs); ++c) group_h[g] += hw[c];
  double err = 0.0, greedy_err = 0.0, norm = 0.0, werr = 0.0, wnorm = 0.0;
  // Threads take whole 16-row blocks: rows of one block share plane words.
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : err, greedy_err, norm, werr, wnorm)
  for (int64_t blk = 0; blk < t.row_blocks(); ++blk) {
    std::vector<uint8_t> code(cols), best_code;
    std::vector<double> scratch;
    for (int64_t r = blk * 16; r < std::min(rows, blk * 16 + 16); ++r) {
      const float* row = w + r * cols;
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t c0 = g * gs, n = std::min(cols, c0 + gs) - c0;
        const bool weighted = hw && group_h[g] > 0.0;
        const Slice s{row + c0, weighted ? hw + c0 : nullptr, weighted ? group_h[g] : double(n), n, bits,
                      code.data() + c0};
        double alpha[kMaxBits];
        greedy_err += quantize_slice(s, opt.iterations, alpha, scratch, best_code);
        // The .qtm stores α as halves: what is measured here is what runs.
        if (opt.half_alphas)
          for (int b = 0; b < bits; ++b) alpha[b] = round_to_half(float(alpha[b]));
        double we = 0.0;
        err += plain_error(s, alpha, hw ? hw + c0 : nullptr, &we);
        werr += we;
        for (int b = 0; b < bits; ++b) t.alphas[(r * bits + b) * groups + g] = float(alpha[b]);
        for (int64_t i = 0; i < n; ++i) {
          const double v2 = double(s.w[i]) * s.w[i];
          norm += v2;
          wnorm += hw ? double(hw[c0 + i]) * v2 : v2;
        }
      }
      for (int64_t c = 0; c < cols; ++c)
        for (int b = 0; b < bits; ++b)
          if (code[c] >> b & 1) binary_code_set_sign(t, b, r, c, true);
    }
  }
  res.relative_error = norm > 0.0 ? std::sqrt(err / norm) : 0.0;
  res.greedy_relative_error = norm > 0.0 ? std::sqrt(greedy_err / norm) : 0.0;
  res.weighted_relative_error = hw ? (wnorm > 0.0 ? std::sqrt(werr / wnorm) : 0.0) : res.relative_error;
  return res;
}

}  // namespace qtool::quantize
