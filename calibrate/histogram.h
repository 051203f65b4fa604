// A histogram of |x| over [0, range) in a fixed number of bins. The range grows
// by doubling as larger values arrive: pairs of bins merge exactly, so no count
// is ever lost or smeared.
#pragma once
#include <cstdint>
#include <vector>

namespace qtool::calibrate {

class Histogram {
 public:
  explicit Histogram(int bins = 2048) : counts_(bins, 0) {}
  void add(const float* x, int64_t n);
  // Adds another histogram's counts (its range is brought to a common one first).
  void merge(const Histogram& other);

  int bins() const { return static_cast<int>(counts_.size()); }
  double range() const { return range_; }
  double bin_width() const { return range_ / counts_.size(); }
  double max_abs() const { return max_; }
  int64_t total() const { return total_; }
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  void grow_to(double value);  // doubles the range until value < range
  void double_range();
  std::vector<int64_t> counts_;
  double range_ = 0.0, max_ = 0.0;
  int64_t total_ = 0;
};

}  // namespace qtool::calibrate
