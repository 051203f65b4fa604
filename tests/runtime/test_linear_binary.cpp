// Binary-code linear layers shared by a team (decoding steps at batch 1): the
// members' columns together are exactly the one-thread product, for stacked
// parts (q, k, v) and for frequency clusters of different bits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "runtime/ops/linear_binary.h"

using namespace qtool;
using namespace qtool::runtime;

namespace {

std::shared_ptr<BinaryCodeTensor> random_code(int64_t rows, int64_t cols, int bits, std::mt19937& rng) {
  auto t = std::make_shared<BinaryCodeTensor>(BinaryCodeTensor::make(rows, cols, bits, 0));
  std::uniform_int_distribution<int> coin(0, 1);
  std::uniform_real_distribution<float> a(0.01f, 1.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      for (int b = 0; b < bits; ++b) binary_code_set_sign(*t, b, r, c, coin(rng));
  for (float& v : t->alphas) v = a(rng);
  return t;
}

std::vector<float> random_floats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

// y of `layer` computed on `threads` of the runtime's threads.
std::vector<float> forward_on(const Linear& layer, const std::vector<float>& x, int64_t rows, int threads) {
  std::vector<float> y(rows * layer.out_features(), std::nanf(""));
  const ThreadLimit limit(threads);
  layer.forward(x.data(), rows, y.data());
  return y;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("LinearBinary: any thread count computes the one-thread product bit for bit") {
  // The first shapes are big enough for several chunks (≥ 2^18 bit products
  // each), which then cross the stacked parts' boundaries.
  std::mt19937 rng(5);
  for (auto [rows_q, rows_kv, K, bits] : {std::tuple<int64_t, int64_t, int64_t, int>{256, 256, 256, 3},
                                          {1000, 250, 512, 2}, {40, 17, 100, 2}, {5, 33, 68, 1}, {16, 1, 12, 4}}) {
    CAPTURE(rows_q);
    CAPTURE(bits);
    std::vector<LinearWeights> parts;
    for (int64_t n : {rows_q, rows_kv, rows_kv}) {
      LinearWeights w;
      w.binary = random_code(n, K, bits, rng);
      auto b = std::make_shared<Tensor>();
      b->shape = {n};
      b->data = random_floats(n, rng);
      w.bias = b;
      parts.push_back(w);
    }
    LinearBinary layer(parts);
    layer.activation = Activation::silu;
    for (int64_t rows : {1, 3}) {
      const std::vector<float> x = random_floats(rows * K, rng);
      const std::vector<float> want = forward_on(layer, x, rows, 1);
      for (int threads : {2, 3, 5}) {
        CAPTURE(threads);
        CHECK(same_bits(forward_on(layer, x, rows, threads), want));
      }
    }
  }
}

TEST_CASE("LinearClustered: clusters of 4, 3, 2 and 1 bits in chunks, scattered to vocabulary order") {
  // 8,000 rows of 260 columns: several chunks at one row, crossing clusters.
  std::mt19937 rng(6);
  auto e = std::make_shared<ClusteredBinaryEmbedding>();
  e->cols = 260;
  for (auto [n, bits] : {std::pair<int64_t, int>{1000, 4}, {1999, 3}, {2001, 2}, {3000, 1}}) {
    e->clusters.push_back(std::move(*random_code(n, e->cols, bits, rng)));
    e->rows += n;
  }
  e->order.resize(e->rows);
  std::iota(e->order.begin(), e->order.end(), 0);
  std::shuffle(e->order.begin(), e->order.end(), rng);
  finish_clustered_embedding(*e, "test");
  const std::vector<float> bias = random_floats(e->rows, rng);
  LinearClustered layer(e, bias);
  for (int64_t rows : {1, 2}) {
    const std::vector<float> x = random_floats(rows * e->cols, rng);
    const std::vector<float> want = forward_on(layer, x, rows, 1);
    for (int threads : {2, 3, 4}) {
      CAPTURE(threads);
      CHECK(same_bits(forward_on(layer, x, rows, threads), want));
    }
  }
}
