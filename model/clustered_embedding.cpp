#include "model/clustered_embedding.h"

#include <string>

#include "util/error.h"

namespace qtool {

int64_t ClusteredBinaryEmbedding::offset(size_t c) const {
  int64_t o = 0;
  for (size_t i = 0; i < c; ++i) o += clusters[i].rows;
  return o;
}

void ClusteredBinaryEmbedding::decode_row(int64_t id, float* out) const {
  int64_t k = position[id];
  for (const BinaryCodeTensor& t : clusters) {
    if (k >= t.rows) {
      k -= t.rows;
      continue;
    }
    // binary_code_value(t, k, j) per element, with the row's words and α found
    // once (the decoder embeds a token per step): the same sum in the same order.
    const uint64_t* words = t.planes_data() + (k / 16) * t.col_quads() * t.bits;
    const float* alpha = t.alphas_data() + k * t.bits * t.groups();
    const int64_t G = t.groups();
    for (int64_t j = 0; j < cols; ++j) {
      const uint64_t* w = words + (j / 4) * t.bits;
      const int shift = int(k % 16) * 4 + int(j % 4);
      const int64_t g = j / t.group_size;
      float v = 0.0f;
      for (int b = 0; b < t.bits; ++b) v += (w[b] >> shift) & 1 ? alpha[b * G + g] : -alpha[b * G + g];
      out[j] = v;
    }
    return;
  }
}

double ClusteredBinaryEmbedding::average_bits() const {
  double planes = 0;
  for (const BinaryCodeTensor& t : clusters) planes += double(t.rows) * t.bits;
  return rows ? planes / double(rows) : 0.0;
}

int64_t ClusteredBinaryEmbedding::bytes() const {
  int64_t b = int64_t(order.size() * sizeof(int32_t));
  for (const BinaryCodeTensor& t : clusters) b += binary_code_bytes(t);
  return b;
}

void finish_clustered_embedding(ClusteredBinaryEmbedding& e, const std::string& where) {
  int64_t total = 0;
  for (size_t c = 0; c < e.clusters.size(); ++c) {
    if (e.clusters[c].cols != e.cols)
      fail(where, "cluster " + std::to_string(c) + " has " + std::to_string(e.clusters[c].cols) + " columns, expected " +
                      std::to_string(e.cols));
    total += e.clusters[c].rows;
  }
  if (total != e.rows) fail(where, "clusters hold " + std::to_string(total) + " rows, expected " + std::to_string(e.rows));
  if (static_cast<int64_t>(e.order.size()) != e.rows) fail(where, "order has the wrong length");
  e.position.assign(e.rows, -1);
  for (int64_t k = 0; k < e.rows; ++k) {
    const int32_t id = e.order[k];
    if (id < 0 || id >= e.rows || e.position[id] != -1)
      fail(where, "order is not a permutation of 0.." + std::to_string(e.rows - 1) + " (at " + std::to_string(k) + ")");
    e.position[id] = static_cast<int32_t>(k);
  }
}

}  // namespace qtool
