// The runtime's threads: one pool, shared by every product and attention loop.
//
// parallel_for(n, grain, fn) cuts [0, n) into chunks that whoever is running
// claims from one counter: the pool's threads and the caller itself. A member
// the OS has not scheduled (the CPU is shared with other work) therefore holds
// back only a chunk it has already claimed, never the job: the caller does the
// rest. Idle members spin a few microseconds, then sleep on a futex, so a busy
// neighbour gets the core back. Which thread runs a chunk never changes what it
// computes: results are bit-identical at any thread count.
//
// The thread count is a process-wide setting (set_num_threads; by default the
// CPUs the process may use: its affinity mask and cgroup CPU quota) that a
// thread can narrow for a scope (ThreadLimit: parallel batch streams run on
// one thread each; an API call on its own count).
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>

namespace qtool::runtime {

// A non-owning reference to a callable fn(begin, end): no allocation per call.
class ChunkFn {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, ChunkFn>>>
  ChunkFn(F&& f)  // NOLINT: implicit, like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e); }) {}
  void operator()(int64_t begin, int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

// fn over [0, n) in chunks of `grain` (the last may be shorter), on up to
// parallel_threads() threads; returns when every chunk is done. The chunks are
// the same however many threads run them. Serial (the chunks in order) when
// there is one chunk or one thread, inside another parallel_for's chunk, when
// another thread's job holds the pool (it then runs on the caller alone), or
// while another process holds our CPUs (runtime/cpu_share.h).
// An exception from fn reaches the caller after the other chunks finished.
void parallel_for(int64_t n, int64_t grain, ChunkFn fn);

// Threads parallel_for would use on this thread now (1: it runs serially).
int parallel_threads();

// A grain for `n` items of `item_cost` multiply-adds each: chunks of at least
// `min_cost` (smaller ones cost more to hand over than they save), and, above
// that, about `per_cpu` chunks per CPU so a late member leaves little to wait for.
// Rounded up to a multiple of `align` items (a kernel's block). It does not
// depend on the thread count, so neither do the chunks.
int64_t chunk_grain(int64_t n, int64_t item_cost, int64_t min_cost, int64_t align = 1, int per_cpu = 4);

// CPUs this process may run on: its affinity mask, capped by a cgroup CPU
// quota (cgroup v2 cpu.max or v1 cfs_quota_us), at least 1.
int available_cpus();

// The process-wide thread count; 0 = available_cpus().
void set_num_threads(int threads);
// The thread count on this thread: its ThreadLimit, else the process-wide one.
int num_threads();

// For its scope, this thread's jobs use `threads` (0 = the process-wide count).
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int saved_;
};

}  // namespace qtool::runtime
