#include "runtime/parallel.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace qtool::runtime {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

thread_local bool in_worker = false;

// An idle worker spins this long for the next job, then sleeps on a futex
// (std::atomic::wait). Decoding posts a job every few µs; between sentences and
// outside decoding the workers sleep and cost nothing.
constexpr auto kSpin = std::chrono::microseconds(200);

// The ticket holds the job's id (high 32 bits), its chunk count (16 bits) and
// the next unclaimed chunk (low 16 bits): a chunk is claimed by one CAS, which
// fails for a worker still holding a ticket of an earlier job.
constexpr int64_t kMaxChunks = 0xffff;

class Pool {
 public:
  ~Pool() {
    stop_.store(true);
    job_.fetch_add(1);
    job_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  bool try_acquire() { return !busy_.exchange(true, std::memory_order_acquire); }
  void release() { busy_.store(false, std::memory_order_release); }

  // Only the thread holding busy_ calls this.
  void run(int64_t n, int64_t grain, const ChunkFn& fn, int helpers) {
    while (static_cast<int>(workers_.size()) < helpers) {
      const int index = static_cast<int>(workers_.size());
      const uint32_t seen = job_.load(std::memory_order_relaxed);
      workers_.emplace_back([this, index, seen] { work(index, seen); });
    }
    const int64_t chunks = (n + grain - 1) / grain;
    // The job's fields, published by the ticket's release store and left alone
    // until every claimed chunk is done.
    n_ = n, grain_ = grain, fn_ = &fn;
    done_.store(0, std::memory_order_relaxed);
    helpers_.store(helpers, std::memory_order_relaxed);
    const uint32_t id = job_.load(std::memory_order_relaxed) + 1;
    ticket_.store(uint64_t(id) << 32 | uint64_t(chunks) << 16, std::memory_order_release);
    job_.store(id, std::memory_order_seq_cst);
    // One futex wake per sleep, not per job: a woken worker may wait a while for
    // a CPU on a busy machine, and jobs keep coming every few µs.
    if (sleepers_.load(std::memory_order_seq_cst) > 0 && sleepers_.exchange(0, std::memory_order_seq_cst) > 0)
      job_.notify_all();
    claim();
    while (done_.load(std::memory_order_acquire) < chunks) cpu_relax();
  }

 private:
  // Runs chunks of the current job until none is left unclaimed.
  void claim() {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    for (;;) {
      const int64_t next = int64_t(t & 0xffff), count = int64_t(t >> 16 & 0xffff);
      if (next >= count) return;
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      const int64_t begin = next * grain_;
      (*fn_)(begin, std::min(n_, begin + grain_));
      done_.fetch_add(1, std::memory_order_release);
      t = ticket_.load(std::memory_order_acquire);
    }
  }

  void work(int index, uint32_t seen) {
    in_worker = true;
    for (;;) {
      seen = wait(seen);
      if (stop_.load()) return;
      if (index < helpers_.load(std::memory_order_relaxed)) claim();
    }
  }

  // Returns the id of a job newer than `seen`.
  uint32_t wait(uint32_t seen) {
    auto start = std::chrono::steady_clock::now();
    for (int spin = 1;; ++spin) {
      const uint32_t id = job_.load(std::memory_order_acquire);
      if (id != seen) return id;
      cpu_relax();
      if (spin % 256 || std::chrono::steady_clock::now() - start < kSpin) continue;
      // seq_cst with run()'s store of job_ and exchange of sleepers_: either the
      // poster sees this sleeper (and clears it), or wait() sees the new id.
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      job_.wait(seen, std::memory_order_seq_cst);
      start = std::chrono::steady_clock::now();
    }
  }

  std::atomic<uint64_t> ticket_{0};
  std::atomic<uint32_t> job_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> helpers_{0}, sleepers_{0};
  std::atomic<bool> busy_{false}, stop_{false};
  int64_t n_ = 0, grain_ = 1;
  const ChunkFn* fn_ = nullptr;
  std::vector<std::thread> workers_;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int parallel_threads() { return in_worker || omp_in_parallel() ? 1 : omp_get_max_threads(); }

void parallel_for(int64_t n, int64_t grain, ChunkFn fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>({grain, 1, (n + kMaxChunks - 1) / kMaxChunks});
  const int threads = parallel_threads();
  if (threads <= 1 || n <= grain || !pool().try_acquire()) {
    fn(0, n);
    return;
  }
  pool().run(n, grain, fn, threads - 1);
  pool().release();
}

}  // namespace qtool::runtime
