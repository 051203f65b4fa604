// parallel_for: [0, n) in chunks over the caller's OpenMP threads (--threads),
// serially when there is one chunk or one thread or when already inside a
// parallel region. Callers choose chunks large enough to pay for a fork
// (attention: 2^15 multiply-adds per chunk). run_team: one body on every thread
// at once, for work of many small steps (a decoding step at batch 1). Which
// thread computes a chunk or a member's share never changes what it computes.
//
// Both are OpenMP, so the runtime has one pool of threads beside oneDNN's and
// the INT8 kernels' (a spinning pool of the runtime's own, tried for batch-1
// products, starved against libgomp's workers on two cores and was withdrawn).
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

// fn over [0, n) in chunks of `grain` (the last may be shorter); returns when all are done.
void parallel_for(int64_t n, int64_t grain, ChunkFn fn);

// One member of a team running the same body on every thread (SPMD), for work
// made of many small steps: a decoder step at batch 1 is ~50 products of
// 1–25 µs, where a fork per product costs more than half the product, but a
// barrier between them ~0.3 µs. Every member must reach every barrier.
struct TeamBarrier;  // parallel.cpp

struct Team {
  int rank = 0, size = 1;
  TeamBarrier* sync = nullptr;  // null for a solo team
  bool solo() const { return size == 1; }
  void barrier() const;
  // This member's contiguous part of [0, n): the same split on every call.
  int64_t begin(int64_t n) const { return n * rank / size; }
  int64_t end(int64_t n) const { return n * (rank + 1) / size; }
};

// A reference to a callable fn(const Team&), as ChunkFn.
class TeamFn {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, TeamFn>>>
  TeamFn(F&& f)  // NOLINT: implicit, like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, const Team& t) { (*static_cast<std::remove_reference_t<F>*>(o))(t); }) {}
  void operator()(const Team& t) const { call_(obj_, t); }

 private:
  void* obj_;
  void (*call_)(void*, const Team&);
};

// fn on `size` threads at once (an OpenMP team; inside it parallel_for is serial),
// or on the calling thread as a solo team when size ≤ 1. Returns when all are done.
void run_team(int size, TeamFn fn);

// Threads parallel_for would use on this thread now (1: it runs serially).
int parallel_threads();

}  // namespace qtool::runtime
