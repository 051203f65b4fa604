#include "runtime/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/cpu_share.h"

namespace qtool::runtime {
namespace {

std::atomic<int> g_threads{0};     // set_num_threads; 0 = available_cpus()
thread_local int t_limit = 0;      // ThreadLimit; 0 = the process-wide count
thread_local bool t_in_job = false;  // inside a chunk, or a pool thread: nested calls are serial

// How long an idle member spins before it sleeps. Between the products of one
// decoding step the caller is alone for ~1–5 µs (norms, attention of one row):
// a member still spinning then takes the next product's chunks at once, while
// one asleep costs a futex wake (~5–50 µs on a VM). Past this a member sleeps,
// so a process beside us gets the core back. QTOOL_SPIN_US overrides it.
std::chrono::nanoseconds spin_budget() {
  static const std::chrono::nanoseconds budget = [] {
    const char* env = std::getenv("QTOOL_SPIN_US");
    const long us = env ? std::strtol(env, nullptr, 10) : 20;
    return std::chrono::microseconds(std::clamp<long>(us, 0, 100000));
  }();
  return budget;
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until pred() holds or the budget is spent; returns pred().
template <typename Pred>
bool spin_until(Pred&& pred) {
  if (pred()) return true;
  const auto deadline = std::chrono::steady_clock::now() + spin_budget();
  for (int i = 1;; ++i) {
    if (pred()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) return pred();
  }
}

// One job at a time. Its chunks are claimed through `ticket`: the job's
// generation in the high 32 bits, the next unclaimed chunk in the low 32. A
// member that saw an older job fails its compare-exchange and claims nothing, so
// the job's description (fn, n, grain) is read only by members holding one of
// its chunks, and stays valid until they are all done. The ticket is closed
// before the description changes: a member holding the last job's ticket
// (all claimed) must not meet this job's larger chunk count and claim past them.
class Pool {
 public:
  // At exit the members are woken, leave and are joined, so no thread of ours
  // is left while the process ends (LeakSanitizer's exit scan stops and walks
  // every thread, and crashed on members holding oneDNN's thread-locals).
  ~Pool() {
    std::lock_guard<std::mutex> lock(grow_mu_);
    stop_.store(true, std::memory_order_seq_cst);
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    epoch_.notify_all();
    for (std::thread& t : members_) t.join();
  }

  // Runs the job with up to `helpers` pool threads beside the caller; false
  // (nothing run) when another thread's job holds the pool.
  bool run(int64_t n, int64_t grain, int helpers, const ChunkFn& fn) {
    if (busy_.exchange(true, std::memory_order_acquire)) return false;
    grow(helpers);
    const auto chunks = static_cast<uint32_t>((n + grain - 1) / grain);
    const uint32_t gen = ++generation_;
    ticket_.store(uint64_t(gen) << 32 | kClosed, std::memory_order_seq_cst);
    fn_ = &fn;
    n_ = n;
    grain_ = grain;
    error_ = nullptr;
    chunks_.store(chunks, std::memory_order_seq_cst);
    helpers_.store(helpers, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    ticket_.store(uint64_t(gen) << 32, std::memory_order_release);
    epoch_.store(gen, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst) > 0) epoch_.notify_all();
    work(gen);
    // The caller's share is done; wait for chunks other members hold.
    if (!spin_until([&] { return done_.load(std::memory_order_acquire) == chunks; })) {
      caller_waiting_.store(true, std::memory_order_seq_cst);
      for (uint32_t d; (d = done_.load(std::memory_order_seq_cst)) != chunks;) done_.wait(d);
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
    std::exception_ptr error = error_;
    busy_.store(false, std::memory_order_release);
    if (error) std::rethrow_exception(error);
    return true;
  }

 private:
  // Claims and runs chunks of job `gen` until none is left.
  void work(uint32_t gen) {
    const bool was_in_job = t_in_job;
    t_in_job = true;
    uint32_t ran = 0;
    for (uint64_t t = ticket_.load(std::memory_order_acquire);;) {
      // (The count read after the ticket is this job's or a later one's; for a
      // later one the ticket has been closed, so the exchange below fails.)
      if (uint32_t(t >> 32) != gen || uint32_t(t) >= chunks_.load(std::memory_order_seq_cst)) break;
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      const int64_t begin = int64_t(uint32_t(t)) * grain_;
      try {
        (*fn_)(begin, std::min(n_, begin + grain_));
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu_);
        if (!error_) error_ = std::current_exception();
      }
      ++ran;
      t = ticket_.load(std::memory_order_acquire);
    }
    t_in_job = was_in_job;
    if (ran == 0) return;
    const uint32_t chunks = chunks_.load(std::memory_order_relaxed);
    if (done_.fetch_add(ran, std::memory_order_seq_cst) + ran == chunks &&
        caller_waiting_.load(std::memory_order_seq_cst))
      done_.notify_one();
  }

  void member(int index) {
    t_in_job = true;  // a kernel a member runs never forks again
    uint32_t seen = 0;
    for (;;) {
      if (!spin_until([&] { return epoch_.load(std::memory_order_acquire) != seen; })) {
        sleeping_.fetch_add(1, std::memory_order_seq_cst);
        while (epoch_.load(std::memory_order_seq_cst) == seen) epoch_.wait(seen);
        sleeping_.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stop_.load(std::memory_order_seq_cst)) return;
      seen = epoch_.load(std::memory_order_acquire);
      if (index < helpers_.load(std::memory_order_relaxed)) {
        work(seen);
        note_cpu_share(steady_ns());
      }
    }
  }

  // Members are started on first need and live until exit (they sleep when
  // idle), so no job waits for a thread to start twice.
  void grow(int helpers) {
    std::lock_guard<std::mutex> lock(grow_mu_);
    while (static_cast<int>(members_.size()) < helpers)
      members_.emplace_back(&Pool::member, this, static_cast<int>(members_.size()));
  }

  static constexpr uint64_t kClosed = 0xffffffffu;  // no chunk index reaches it
  alignas(64) std::atomic<uint64_t> ticket_{0};
  alignas(64) std::atomic<uint32_t> done_{0};
  alignas(64) std::atomic<uint32_t> epoch_{0};  // the futex idle members sleep on: the latest job
  std::atomic<int> sleeping_{0};
  std::atomic<bool> caller_waiting_{false};
  alignas(64) std::atomic<bool> busy_{false};
  std::atomic<uint32_t> chunks_{0};
  std::atomic<int> helpers_{0};
  // The job, written by its owner before the ticket is published.
  uint32_t generation_ = 0;
  const ChunkFn* fn_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  std::exception_ptr error_;
  std::mutex error_mu_, grow_mu_;
  std::vector<std::thread> members_;
  std::atomic<bool> stop_{false};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int parallel_threads() { return t_in_job ? 1 : num_threads(); }

void parallel_for(int64_t n, int64_t grain, ChunkFn fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  grain = std::max<int64_t>(grain, (n + 0xfffffffe) / 0xfffffffe);  // chunk indices below the closed mark
  const int64_t chunks = (n + grain - 1) / grain;
  const int threads = parallel_threads();
  if (chunks > 1 && threads > 1) {
    // On a CPU another process holds, the caller runs the job alone (runtime/cpu_share.h).
    const int64_t now = steady_ns();
    note_cpu_share(now);
    if (!cpu_shared(now) && pool().run(n, grain, static_cast<int>(std::min<int64_t>(threads, chunks)) - 1, fn))
      return;
  }
  // Alone, in the same chunks: a kernel may round differently at another split.
  const bool was_in_job = t_in_job;
  t_in_job = true;
  try {
    for (int64_t begin = 0; begin < n; begin += grain) fn(begin, std::min(n, begin + grain));
  } catch (...) {
    t_in_job = was_in_job;
    throw;
  }
  t_in_job = was_in_job;
}

int64_t chunk_grain(int64_t n, int64_t item_cost, int64_t min_cost, int64_t align, int per_cpu) {
  align = std::max<int64_t>(align, 1);
  const int64_t by_cost = (min_cost + std::max<int64_t>(item_cost, 1) - 1) / std::max<int64_t>(item_cost, 1);
  // By the CPUs, not this call's thread count: the chunks (and so the bits of a
  // kernel that rounds by its block's shape) are the same at any --threads.
  const int64_t by_share = n / (std::max(per_cpu, 1) * available_cpus());
  const int64_t grain = std::max<int64_t>({by_cost, by_share, 1});
  return (grain + align - 1) / align * align;
}

void set_num_threads(int threads) { g_threads.store(std::max(threads, 0), std::memory_order_relaxed); }

int num_threads() {
  if (t_limit > 0) return t_limit;
  const int g = g_threads.load(std::memory_order_relaxed);
  return g > 0 ? g : available_cpus();
}

ThreadLimit::ThreadLimit(int threads) : saved_(t_limit) { t_limit = std::max(threads, 0); }
ThreadLimit::~ThreadLimit() { t_limit = saved_; }

}  // namespace qtool::runtime
