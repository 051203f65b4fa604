#include "runtime/parallel.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <thread>

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

// The spin-wait hint: on a virtual machine it also lets the hypervisor's
// pause-loop exiting run a vCPU of ours it had taken off (the member we wait for).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A sense-reversing barrier: first spun on plain loads (a member that is running
// arrives within a few µs, and a PAUSE loop of that length already triggers the
// hypervisor's pause-loop exit, which costs a VM exit or the core), then with
// the spin-wait hint (the member is not running: let the hypervisor run it),
// then giving the core away now and then (it may share ours).
struct TeamBarrier {
  alignas(64) std::atomic<int> arrived{0};
  alignas(64) std::atomic<int> generation{0};
};

void Team::barrier() const {
  if (size <= 1) return;
  const int gen = sync->generation.load(std::memory_order_acquire);
  if (sync->arrived.fetch_add(1, std::memory_order_acq_rel) == size - 1) {
    sync->arrived.store(0, std::memory_order_relaxed);
    sync->generation.store(gen + 1, std::memory_order_release);
    return;
  }
  for (int64_t spins = 1; sync->generation.load(std::memory_order_acquire) == gen; ++spins) {
    if (spins > 4096) cpu_relax();
    if (spins % (1 << 16) == 0) std::this_thread::yield();
  }
}

void run_team(int size, TeamFn fn) {
  if (size <= 1 || omp_in_parallel()) {
    fn(Team{});
    return;
  }
  TeamBarrier sync;
#pragma omp parallel num_threads(size)
  fn(Team{omp_get_thread_num(), omp_get_num_threads(), &sync});
}

}  // namespace qtool::runtime
