// A clustered binary-code embedding row decodes to exactly binary_code_value of
// its cluster, element by element, with and without groups of columns.
#include <doctest/doctest.h>

#include <numeric>
#include <random>

#include "model/clustered_embedding.h"

using namespace qtool;

TEST_CASE("clustered embedding: decode_row equals binary_code_value, any group size") {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> coin(0, 1);
  std::uniform_real_distribution<float> a(-1.0f, 1.0f);
  for (int64_t group : {0, 4, 12, 64}) {
    CAPTURE(group);
    ClusteredBinaryEmbedding e;
    e.cols = 76;
    for (auto [n, bits] : {std::pair<int64_t, int>{5, 4}, {18, 2}, {40, 1}}) {
      BinaryCodeTensor t = BinaryCodeTensor::make(n, e.cols, bits, group);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < e.cols; ++c)
          for (int b = 0; b < bits; ++b) binary_code_set_sign(t, b, r, c, coin(rng));
      for (float& v : t.alphas) v = a(rng);
      e.clusters.push_back(std::move(t));
      e.rows += n;
    }
    e.order.resize(e.rows);
    std::iota(e.order.rbegin(), e.order.rend(), 0);  // id 0 is the last sorted row
    finish_clustered_embedding(e, "test");
    std::vector<float> row(e.cols);
    for (int64_t id = 0; id < e.rows; ++id) {
      e.decode_row(id, row.data());
      int64_t k = e.position[id];
      size_t c = 0;
      while (k >= e.clusters[c].rows) k -= e.clusters[c++].rows;
      for (int64_t j = 0; j < e.cols; ++j) REQUIRE(row[j] == binary_code_value(e.clusters[c], k, j));
    }
  }
}
