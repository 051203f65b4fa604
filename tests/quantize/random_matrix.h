// Gaussian N(0, 1) weights for the quantizer tests.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace qtool::test {

inline std::vector<float> random_matrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> w(rows * cols);
  for (float& v : w) v = g(rng);
  return w;
}

}  // namespace qtool::test
