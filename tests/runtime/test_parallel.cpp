// parallel_for: every index exactly once, whatever the
// thread count, the grain, and whether other threads call it at the same time.
#include <doctest/doctest.h>
#include <omp.h>

#include <atomic>
#include <thread>
#include <vector>

#include "runtime/parallel.h"

using namespace qtool::runtime;

namespace {

// Counts how often each index of [0, n) is visited.
std::vector<int> visits(int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> seen(n);
  parallel_for(n, grain, [&](int64_t first, int64_t last) {
    REQUIRE(first < last);
    for (int64_t i = first; i < last; ++i) seen[i].fetch_add(1, std::memory_order_relaxed);
  });
  std::vector<int> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = seen[i].load();
  return out;
}

}  // namespace

TEST_CASE("parallel_for: every index once, any thread count and grain") {
  for (int threads : {1, 2, 3, 4}) {
    omp_set_num_threads(threads);
    CHECK(parallel_threads() == threads);
    for (int64_t n : {0, 1, 2, 7, 64, 501, 100000})
      for (int64_t grain : {0, 1, 3, 64, 1000}) {
        CAPTURE(threads);
        CAPTURE(n);
        CAPTURE(grain);
        for (int round = 0; round < 3; ++round) {
          const std::vector<int> v = visits(n, grain);
          for (int64_t i = 0; i < n; ++i) REQUIRE(v[i] == 1);
        }
      }
  }
  omp_set_num_threads(1);
}

TEST_CASE("parallel_for: many jobs in a row, and a worker's own call runs serially") {
  omp_set_num_threads(2);
  std::atomic<int64_t> total{0};
  std::atomic<int> bad{0};
  for (int job = 0; job < 2000; ++job)
    parallel_for(16, 1, [&](int64_t first, int64_t last) {
      int inner = 0;  // nested: on the calling thread, whichever it is
      parallel_for(4, 1, [&](int64_t a, int64_t b) { inner += int(b - a); });
      if (inner != 4) bad.fetch_add(1);  // (doctest's CHECK is not for worker threads)
      total.fetch_add(last - first, std::memory_order_relaxed);
    });
  CHECK(total.load() == 2000 * 16);
  CHECK(bad.load() == 0);
  omp_set_num_threads(1);
}

TEST_CASE("parallel_for: concurrent callers each get all their indices") {
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      omp_set_num_threads(2);  // per thread: each caller asks for the pool
      for (int round = 0; round < 200; ++round) {
        const std::vector<int> v = visits(97, 5);
        for (int x : v)
          if (x != 1) failures.fetch_add(1);
      }
    });
  for (std::thread& t : callers) t.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("run_team: every member once, shares partition [0, n), barriers order the phases") {
  for (int size : {1, 2, 3}) {
    CAPTURE(size);
    std::vector<std::atomic<int>> ran(size);
    std::vector<int64_t> slot(size, -1), seen(size, -1);
    std::atomic<int> bad{0};
    run_team(size, [&](const Team& t) {
      ran[t.rank].fetch_add(1);
      if (t.size != size || (size > 1 && parallel_threads() != 1)) bad.fetch_add(1);  // inside, parallel_for is serial
      slot[t.rank] = t.end(1000) - t.begin(1000);
      t.barrier();  // every slot written before anyone sums them
      int64_t sum = 0;
      for (int64_t v : slot) sum += v;
      seen[t.rank] = sum;
    });
    for (int r = 0; r < size; ++r) {
      CHECK(ran[r].load() == 1);
      CHECK(seen[r] == 1000);
    }
    CHECK(bad.load() == 0);
    for (int64_t n : {0, 1, 5, 7, 1001}) {  // contiguous, in rank order, covering [0, n)
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const Team t{r, size};
        CHECK(t.begin(n) == next);
        next = t.end(n);
      }
      CHECK(next == n);
    }
  }
  Team solo;
  CHECK(solo.solo());
  solo.barrier();  // a no-op, not a deadlock
}
