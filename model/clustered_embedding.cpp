#include "model/clustered_embedding.h"

#include <algorithm>
#include <cstring>
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
    // By group, so no division per element (the decoder embeds a token per step).
    const int64_t G = t.groups();
    const int bits = t.bits, row_shift = int(k % 16) * 4;
    for (int64_t g = 0; g < G; ++g)
      for (int64_t j = g * t.group_size; j < std::min(cols, (g + 1) * t.group_size); ++j) {
        const uint64_t* w = words + (j / 4) * bits;
        const int shift = row_shift + int(j % 4);
        float v = 0.0f;
        for (int b = 0; b < bits; ++b) {
          // ±α by the sign bit, without a branch on random bits (exactly ±α, as
          // binary_code_value's α·(±1)).
          uint32_t a;
          std::memcpy(&a, alpha + b * G + g, 4);
          a ^= uint32_t(~(w[b] >> shift) & 1) << 31;
          float signed_alpha;
          std::memcpy(&signed_alpha, &a, 4);
          v += signed_alpha;
        }
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
