#include "runtime/parallel.h"

#include <omp.h>

#include <algorithm>

namespace qtool::runtime {

int parallel_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

void parallel_for(int64_t n, int64_t grain, ChunkFn fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = (n + grain - 1) / grain;
  // A serial branch, not an `if` clause: libgomp sets up a team even for if(0).
  if (chunks == 1 || parallel_threads() == 1) {
    fn(0, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
}

void Team::barrier() const {
  if (size > 1) {
#pragma omp barrier
  }
}

void run_team(int size, TeamFn fn) {
  if (size <= 1 || omp_in_parallel()) {
    fn(Team{});
    return;
  }
#pragma omp parallel num_threads(size)
  fn(Team{omp_get_thread_num(), omp_get_num_threads()});
}

}  // namespace qtool::runtime
