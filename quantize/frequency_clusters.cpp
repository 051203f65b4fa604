#include "quantize/frequency_clusters.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "util/error.h"

namespace qtool::quantize {

std::vector<int64_t> cluster_sizes(int64_t vocab, int clusters, double ratio) {
  if (clusters < 1 || clusters > 8) fail("frequency clusters", "clusters must be 1..8, got " + std::to_string(clusters));
  if (!(ratio > 0) || !std::isfinite(ratio)) fail("frequency clusters", "ratio must be a positive number");
  if (vocab < 1) fail("frequency clusters", "the vocabulary is empty");
  // Weights rⁱ divided by the largest one, so that no power overflows (r = 1e300 with
  // b = 8 is legal) and the sum stays in [1, b].
  const int top = ratio > 1 ? clusters - 1 : 0;
  std::vector<double> weight(clusters);
  double total = 0;
  for (int i = 0; i < clusters; ++i) total += weight[i] = std::pow(ratio, i - top);
  std::vector<int64_t> sizes(clusters);
  std::vector<std::pair<double, int>> remainders;
  int64_t given = 0;
  for (int i = 0; i < clusters; ++i) {
    const double exact = double(vocab) * weight[i] / total;
    sizes[i] = std::min<int64_t>(vocab, static_cast<int64_t>(std::floor(exact)));
    given += sizes[i];
    remainders.push_back({exact - double(sizes[i]), i});
  }
  // Largest remainders get the words left over; ties go to the smaller index.
  std::stable_sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (int64_t k = 0; given < vocab; ++k, ++given) ++sizes[remainders[k % clusters].second];
  // Only for v beyond double's 2⁵³ can the floors overshoot; take the excess back from the end.
  for (int i = clusters - 1; given > vocab; i = (i + clusters - 1) % clusters)
    if (sizes[i] > 0) --sizes[i], --given;
  return sizes;
}

double FrequencyClusters::average_bits() const {
  double sum = 0;
  for (int b : bits_of_row) sum += b;
  return bits_of_row.empty() ? 0.0 : sum / double(bits_of_row.size());
}

FrequencyClusters frequency_clusters(const std::vector<int64_t>& counts, int clusters, double ratio) {
  if (counts.empty()) fail("frequency clusters", "no token counts");
  const std::vector<int64_t> sizes = cluster_sizes(static_cast<int64_t>(counts.size()), clusters, ratio);
  std::vector<int64_t> ids(counts.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) { return counts[a] > counts[b]; });
  FrequencyClusters f;
  f.bits_of_row.assign(counts.size(), 0);
  size_t at = 0;
  for (int c = 0; c < clusters; ++c) {
    f.rows.emplace_back(ids.begin() + at, ids.begin() + at + sizes[c]);
    for (int64_t id : f.rows.back()) f.bits_of_row[id] = clusters - c;
    at += sizes[c];
  }
  return f;
}

}  // namespace qtool::quantize
