// What the two reconstruction fits (block_reconstruction.cpp,
// output_reconstruction.cpp) share: Adam (Kingma & Ba 2015) on a flat θ, and
// the held-out rows whose error picks the iterate kept.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace qtool::quantize {

class Adam {
 public:
  explicit Adam(size_t n) : m1_(n, 0.0f), m2_(n, 0.0f) {}
  // One step with bias-corrected moments (β₁ 0.9, β₂ 0.999).
  void step(std::vector<float>& theta, const std::vector<float>& grad, double learning_rate) {
    const double beta1 = 0.9, beta2 = 0.999;
    ++t_;
    const double c1 = 1 - std::pow(beta1, t_), c2 = 1 - std::pow(beta2, t_);
    for (size_t i = 0; i < theta.size(); ++i) {
      m1_[i] = float(beta1 * m1_[i] + (1 - beta1) * grad[i]);
      m2_[i] = float(beta2 * m2_[i] + (1 - beta2) * double(grad[i]) * grad[i]);
      theta[i] -= float(learning_rate * (m1_[i] / c1) / (std::sqrt(m2_[i] / c2) + 1e-12));
    }
  }

 private:
  std::vector<float> m1_, m2_;
  int t_ = 0;
};

// Every 8th row held out; all rows both ways when there are too few to split.
struct HeldOutRows {
  std::vector<int64_t> fit, check;
};
inline HeldOutRows held_out_rows(int64_t rows) {
  HeldOutRows h;
  for (int64_t r = 0; r < rows; ++r) (rows >= 16 && r % 8 == 7 ? h.check : h.fit).push_back(r);
  if (h.check.empty()) h.check = h.fit;
  return h;
}

}  // namespace qtool::quantize
