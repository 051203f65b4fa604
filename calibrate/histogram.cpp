#include "calibrate/histogram.h"

#include <algorithm>
#include <cmath>

namespace qtool::calibrate {

// Ranges are powers of two, so two histograms always reach a common range by doubling.
void Histogram::double_range() {
  const size_t n = counts_.size();
  for (size_t i = 0; i < n / 2; ++i) counts_[i] = counts_[2 * i] + counts_[2 * i + 1];
  std::fill(counts_.begin() + n / 2, counts_.end(), 0);
  range_ *= 2;
}

void Histogram::grow_to(double value) {
  if (range_ == 0.0) {
    if (value > 0.0) range_ = std::exp2(std::floor(std::log2(value)) + 1);  // smallest power of two > value
    return;
  }
  while (value >= range_) double_range();
}

void Histogram::add(const float* x, int64_t n) {
  double mx = 0.0;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(std::fabs(x[i])));
  max_ = std::max(max_, mx);
  total_ += n;
  grow_to(mx);
  if (range_ == 0.0) {  // only zeros so far: they all sit in bin 0 whatever the range becomes
    counts_[0] += n;
    return;
  }
  const double scale = counts_.size() / range_;
  const int64_t last = static_cast<int64_t>(counts_.size()) - 1;
  for (int64_t i = 0; i < n; ++i)
    ++counts_[std::min(last, static_cast<int64_t>(std::fabs(x[i]) * scale))];
}

void Histogram::merge(const Histogram& other) {
  Histogram o = other;
  if (range_ == 0.0) range_ = o.range_;
  if (o.range_ == 0.0) o.range_ = range_;
  while (range_ < o.range_) double_range();
  while (o.range_ < range_) o.double_range();
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  total_ += o.total_;
  max_ = std::max(max_, o.max_);
}

}  // namespace qtool::calibrate
