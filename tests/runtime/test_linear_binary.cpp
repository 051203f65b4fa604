// Binary-code linear layers shared by a team (decoding steps at batch 1): the
// members' columns together are exactly the one-thread product, for stacked
// parts (q, k, v) and for frequency clusters of different bits.
#include <doctest/doctest.h>
#include <omp.h>

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

// y of `layer` computed by a team of `size` (each member's forward_shared, then a barrier).
std::vector<float> shared_forward(const Linear& layer, const std::vector<float>& x, int64_t rows, int size) {
  std::vector<float> y(rows * layer.out_features(), std::nanf(""));
  run_team(size, [&](const Team& t) {
    layer.forward_shared(x.data(), rows, y.data(), t);
    t.barrier();
  });
  return y;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("LinearBinary: a team of any size computes the one-thread product bit for bit") {
  std::mt19937 rng(5);
  omp_set_num_threads(1);
  for (auto [rows_q, rows_kv, K, bits] : {std::tuple<int64_t, int64_t, int64_t, int>{256, 256, 256, 3},
                                          {40, 17, 100, 2}, {5, 33, 68, 1}, {16, 1, 12, 4}}) {
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
      std::vector<float> want(rows * layer.out_features());
      layer.forward(x.data(), rows, want.data());
      for (int size : {1, 2, 3, 5}) {
        CAPTURE(size);
        CHECK(same_bits(shared_forward(layer, x, rows, size), want));
      }
    }
  }
}

TEST_CASE("LinearClustered: clusters of 4, 3, 2 and 1 bits split by work, scattered to vocabulary order") {
  std::mt19937 rng(6);
  omp_set_num_threads(1);
  auto e = std::make_shared<ClusteredBinaryEmbedding>();
  e->cols = 68;
  for (auto [n, bits] : {std::pair<int64_t, int>{20, 4}, {37, 3}, {64, 2}, {130, 1}}) {
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
    std::vector<float> want(rows * e->rows);
    layer.forward(x.data(), rows, want.data());
    for (int size : {2, 3, 4}) {
      CAPTURE(size);
      CHECK(same_bits(shared_forward(layer, x, rows, size), want));
    }
  }
}
