// The runtime's pool splits products into chunks (runtime/parallel.h); oneDNN's
// sgemm and Eigen's product would fork an OpenMP team of their own inside each.
// A thread's OpenMP count is its own, so it is set to 1 for the scope and given back.
#pragma once
#include <omp.h>

namespace qtool::runtime {

class SerialOpenMp {
 public:
  SerialOpenMp() : saved_(omp_get_max_threads()) {
    if (saved_ != 1) omp_set_num_threads(1);
  }
  ~SerialOpenMp() {
    if (saved_ != 1) omp_set_num_threads(saved_);
  }
  SerialOpenMp(const SerialOpenMp&) = delete;
  SerialOpenMp& operator=(const SerialOpenMp&) = delete;

 private:
  int saved_;
};

}  // namespace qtool::runtime
