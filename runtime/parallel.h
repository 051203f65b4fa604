// A small pool of spinning worker threads for work too fine for an OpenMP team:
// the binary-code products of batch-1 decoding take 5–50 µs each, and starting a
// libgomp team costs a few µs, after which its threads spin for milliseconds and
// crowd out the next step. Here a hand-off is one atomic store.
//
// parallel_for splits [0, n) into chunks that the calling thread and the workers
// claim from a shared counter, so a worker that is not running (the machine is
// busy) is never waited for: the caller takes the chunks it leaves. Which thread
// computes a chunk never changes what the chunk computes.
//
// The thread count is the caller's OpenMP setting (omp_set_num_threads, which
// --threads sets); calls from a worker, or while another thread uses the pool,
// run serially on the caller.
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

// Threads parallel_for would use on this thread now (1: it runs serially).
int parallel_threads();

}  // namespace qtool::runtime
