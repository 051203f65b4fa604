// An embedding matrix in frequency clusters (Chung et al. 2020, §3.2): rows sorted
// by token frequency, cut into clusters whose sizes grow by a ratio, and each
// cluster binary-coded with its own number of planes (frequent words get more).
// Cluster c holds sorted rows [offset(c), offset(c) + clusters[c].rows).
//
// A tied model keeps one such matrix for both roles: the embedding looks rows up
// through `position`, and the output projection computes every cluster's logits
// with the binary-code kernel and scatters them back through `order`.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model/qtensor.h"

namespace qtool {

struct ClusteredBinaryEmbedding {
  int64_t rows = 0, cols = 0;                // [vocab, d]
  std::vector<BinaryCodeTensor> clusters;    // most frequent first
  std::vector<int32_t> order;                // order[k] = vocabulary id of sorted row k
  std::vector<int32_t> position;             // position[id] = its sorted row (inverse of order)
  std::shared_ptr<const void> storage;       // keeps a mapped file alive for view tensors

  int64_t offset(size_t c) const;
  // Decodes the embedding row of vocabulary id `id` into out[cols].
  void decode_row(int64_t id, float* out) const;
  double average_bits() const;  // sign planes per weight, over all rows
  int64_t bytes() const;        // planes, alphas and the order table
};

// Checks the clusters tile [rows, cols] and `order` is a permutation; fills `position`.
// Throws qtool::Error naming `where`.
void finish_clustered_embedding(ClusteredBinaryEmbedding& e, const std::string& where);

}  // namespace qtool
