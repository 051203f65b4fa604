// Frequency-clustered bit allocation for embeddings (Chung et al. 2020, §3.2):
// the vocabulary sorted by token frequency is cut into b clusters whose sizes
// grow by a ratio r, and cluster i (0 = most frequent) gets (b − i) bits.
#pragma once
#include <cstdint>
#include <vector>

namespace qtool::quantize {

// Sizes of b clusters over v words growing by ratio r: cluster i holds v·rⁱ/Σₖ rᵏ words
// (i = 0 the most frequent), rounded so they sum to v (largest remainder; ties to the smaller i).
std::vector<int64_t> cluster_sizes(int64_t vocab, int clusters, double ratio);

struct FrequencyClusters {
  std::vector<int> bits_of_row;              // per vocabulary id: bits of its cluster (b − i)
  std::vector<std::vector<int64_t>> rows;    // per cluster: its ids, most frequent first
  double average_bits() const;
};

// ids sorted by count, descending (ties: smaller id first); cluster i gets (clusters − i) bits.
FrequencyClusters frequency_clusters(const std::vector<int64_t>& counts, int clusters, double ratio);

}  // namespace qtool::quantize
