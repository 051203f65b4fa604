// parallel_for: every index exactly once, whatever the thread count, the grain,
// members that do not run, exceptions, and other threads calling at the same time.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>
#include <unistd.h>

#include "runtime/cpu_count.h"
#include "runtime/cpu_share.h"
#include "runtime/parallel.h"

using namespace qtool::runtime;

namespace {

// Counts how often each index of [0, n) is visited.
std::vector<int> visits(int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> seen(n);
  parallel_for(n, grain, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) seen[i].fetch_add(1, std::memory_order_relaxed);
  });
  std::vector<int> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = seen[i].load();
  return out;
}

}  // namespace

TEST_CASE("parallel_for: every index once, any thread count and grain; chunks as asked") {
  for (int threads : {1, 2, 3, 4}) {
    const ThreadLimit limit(threads);
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
        // The chunks are [k·grain, min(n, (k+1)·grain)), serial or not.
        std::mutex mu;
        std::set<std::pair<int64_t, int64_t>> got, want;
        const int64_t g = std::max<int64_t>(grain, 1);
        for (int64_t b = 0; b < n; b += g) want.insert({b, std::min(n, b + g)});
        parallel_for(n, grain, [&](int64_t first, int64_t last) {
          std::lock_guard<std::mutex> lock(mu);
          got.insert({first, last});
        });
        REQUIRE(got == want);
      }
  }
}

TEST_CASE("parallel_for: many jobs in a row, and a chunk's own call runs serially") {
  const ThreadLimit limit(2);
  std::atomic<int64_t> total{0};
  std::atomic<int> bad{0};
  for (int job = 0; job < 20000; ++job)
    parallel_for(16, 1, [&](int64_t first, int64_t last) {
      if (parallel_threads() != 1) bad.fetch_add(1);
      int inner = 0;  // nested: on the calling thread, whichever it is
      parallel_for(4, 1, [&](int64_t a, int64_t b) { inner += int(b - a); });
      if (inner != 4) bad.fetch_add(1);  // (doctest's CHECK is not for other threads)
      total.fetch_add(last - first, std::memory_order_relaxed);
    });
  CHECK(total.load() == 20000 * 16);
  CHECK(bad.load() == 0);
  CHECK(parallel_threads() == 2);  // out of the chunks again
}

TEST_CASE("parallel_for: jobs of different sizes back to back") {
  // A member still holding the last job's ticket must not claim this job's
  // chunks with it (once did: a chunk run twice, the caller waiting forever).
  const ThreadLimit limit(2);
  std::atomic<int> bad{0};
  for (int job = 0; job < 400000; ++job) {
    const int64_t n = job % 2 ? 2 : 2 + job % 61;  // small, then larger
    std::vector<std::atomic<int>> seen(n);
    parallel_for(n, 1, [&](int64_t first, int64_t last) {
      for (int64_t i = first; i < last; ++i) seen[i].fetch_add(1, std::memory_order_relaxed);
    });
    for (int64_t i = 0; i < n; ++i) bad += seen[i].load() != 1;
  }
  CHECK(bad.load() == 0);
}

TEST_CASE("parallel_for: the pool's threads do take chunks") {
  const ThreadLimit limit(2);
  set_cpu_share_backoff(false);  // (ctest -j may share the CPUs: the pool would leave the job to the caller)
  std::set<std::thread::id> ran_on;
  std::mutex mu;
  for (int job = 0; job < 200 && ran_on.size() < 2; ++job)
    parallel_for(64, 1, [&](int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      std::lock_guard<std::mutex> lock(mu);
      ran_on.insert(std::this_thread::get_id());
    });
  set_cpu_share_backoff(true);
  CHECK(ran_on.size() == 2);
}

TEST_CASE("shared CPU: idle CPUs between two /proc/stat texts") {
  // user nice system idle iowait irq softirq steal guest guest_nice, in jiffies.
  const std::string before =
      "cpu  300 0 100 500 0 0 0 0 0 0\n"
      "cpu0 100 0 50 200 0 0 0 0 0 0\n"
      "cpu1 200 0 50 300 0 0 0 0 0 0\n"
      "cpu2 0 0 0 0 0 0 0 0 0 0\n"
      "intr 12345 0 0\n";
  // Over the interval: cpu0 ran 100 and idled 0, cpu1 idled 60 and waited on
  // I/O 20 of 100, cpu2 idled 30 of 40 (the guest column is not added).
  const std::string after =
      "cpu  500 0 100 590 20 0 0 0 0 0\n"
      "cpu0 200 0 50 200 0 0 0 0 0 0\n"
      "cpu1 220 0 50 360 20 0 0 0 7 0\n"
      "cpu2 10 0 0 30 0 0 0 0 0 0\n"
      "intr 12399 0 0\n";
  CHECK(idle_cpus(before, after, {0}) == doctest::Approx(0.0));
  CHECK(idle_cpus(before, after, {1}) == doctest::Approx(0.8));
  CHECK(idle_cpus(before, after, {0, 1}) == doctest::Approx(0.8));
  CHECK(idle_cpus(before, after, {0, 1, 2}) == doctest::Approx(1.55));
  CHECK(idle_cpus(before, after, {5}) == -1.0);                   // not in the texts
  CHECK(idle_cpus(before, before, {0, 1}) == -1.0);              // no time passed
  CHECK(idle_cpus("cpu0 1 2\n", after, {0}) == -1.0);            // malformed
  CHECK(idle_cpus(before, "cpu0 1 2 x 4 5 6 7 8\n", {0}) == -1.0);
}

TEST_CASE("shared CPU: schedstat's run delay, and a thread kept waiting by another backs the pool off") {
  CHECK(schedstat_run_delay("444411138 1676922 77\n") == 1676922);
  CHECK(schedstat_run_delay("0 0 1") == 0);
  CHECK(schedstat_run_delay("12") == -1);
  CHECK(schedstat_run_delay("") == -1);
  CHECK(schedstat_run_delay("a b c") == -1);
  CHECK(schedstat_run_delay("5 -3 1") == -1);

  // This thread and a busy one pinned to the same CPU: each waits about half
  // the time, which the samples see, and jobs then run on the caller alone.
  if (access("/proc/thread-self/schedstat", R_OK) != 0) return;
  cpu_set_t saved;
  REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &saved)) ++cpu;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  set_cpu_share_backoff(false);
  set_cpu_share_backoff(true);
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    sched_setaffinity(0, sizeof one, &one);
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  const int64_t start = now_ns();
  bool shared = false;
  while (!shared && now_ns() - start < int64_t(2'000'000'000)) {
    note_cpu_share(now_ns());
    shared = cpu_shared(now_ns());
  }
  stop.store(true);
  busy.join();
  sched_setaffinity(0, sizeof saved, &saved);
  CHECK(shared);
  const ThreadLimit limit(2);
  CHECK(visits(100, 1) == std::vector<int>(100, 1));  // still every index once, on the caller
  set_cpu_share_backoff(false);  // leaves no backoff behind for the other tests
  set_cpu_share_backoff(true);
}

TEST_CASE("parallel_for: a member that does not run holds back only the chunk it took") {
  // Pool threads sleep 30 ms in each chunk they take (a member the OS took off
  // the CPU); the caller's chunks cost nothing. The caller must not wait for the
  // sleepers to show up: it runs the other chunks itself, and every index is
  // still computed exactly once.
  for (int threads : {2, 4}) {
    CAPTURE(threads);
    const ThreadLimit limit(threads);
    const std::thread::id caller = std::this_thread::get_id();
    const int64_t n = 400;
    std::vector<std::atomic<int>> seen(n);
    std::atomic<int64_t> by_caller{0};
    const auto start = std::chrono::steady_clock::now();
    parallel_for(n, 1, [&](int64_t first, int64_t last) {
      if (std::this_thread::get_id() == caller)
        by_caller.fetch_add(last - first);
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      for (int64_t i = first; i < last; ++i) seen[i].fetch_add(1);
    });
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    for (int64_t i = 0; i < n; ++i) REQUIRE(seen[i].load() == 1);
    // Each sleeper holds at most one chunk at a time, and a 30 ms sleep each
    // means a handful at most (a static split would leave them n·(t−1)/t).
    CHECK(by_caller.load() >= n / 2);
    CHECK(ms < 30.0 * n / threads);  // far below: not one sleeper's share in turn
  }
}

TEST_CASE("parallel_for: an exception reaches the caller, the other chunks run, the pool goes on") {
  const ThreadLimit limit(2);
  for (int round = 0; round < 20; ++round) {
    std::atomic<int64_t> done{0};
    CHECK_THROWS_WITH_AS(parallel_for(100, 1,
                                      [&](int64_t first, int64_t last) {
                                        if (first == 37) throw std::runtime_error("chunk 37");
                                        done.fetch_add(last - first);
                                      }),
                         "chunk 37", std::runtime_error);
    CHECK(done.load() == 99);
  }
  const std::vector<int> v = visits(1000, 7);
  for (int x : v) REQUIRE(x == 1);
}

TEST_CASE("parallel_for: concurrent callers each get all their indices") {
  // One job holds the pool at a time; the others run on their own caller.
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      const ThreadLimit limit(2);
      for (int round = 0; round < 300; ++round) {
        const std::vector<int> v = visits(97, 5);
        for (int x : v)
          if (x != 1) failures.fetch_add(1);
      }
    });
  for (std::thread& t : callers) t.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("thread counts: process-wide, narrowed per thread, default from the CPUs we may use") {
  CHECK(available_cpus() >= 1);
  CHECK(available_cpus() <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  set_num_threads(0);
  CHECK(num_threads() == available_cpus());
  set_num_threads(3);
  CHECK(num_threads() == 3);
  {
    const ThreadLimit one(1);
    CHECK(num_threads() == 1);
    CHECK(parallel_threads() == 1);
    std::thread other([] { CHECK(num_threads() == 3); });  // the limit is this thread's only
    other.join();
  }
  CHECK(num_threads() == 3);
  set_num_threads(0);
}

TEST_CASE("cgroup CPU quota: v2 cpu.max up the tree, v1 cfs quota; the tightest wins") {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("qtool_cgroup_" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto write = [&](const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  };
  // v2: the process in /a/b; b has no limit, a allows 1.5 CPUs, the root none.
  write(root / "proc_cgroup", "0::/a/b\n");
  write(root / "fs/cpu.max", "max 100000\n");
  write(root / "fs/a/cpu.max", "150000 100000\n");
  write(root / "fs/a/b/cpu.max", "max 100000\n");
  CHECK(cgroup_cpu_limit((root / "proc_cgroup").string(), (root / "fs").string()) == 2);
  write(root / "fs/a/b/cpu.max", "50000 100000\n");  // half a CPU: still one thread
  CHECK(cgroup_cpu_limit((root / "proc_cgroup").string(), (root / "fs").string()) == 1);
  write(root / "fs/a/cpu.max", "max 100000\n");
  write(root / "fs/a/b/cpu.max", "max 100000\n");
  CHECK(cgroup_cpu_limit((root / "proc_cgroup").string(), (root / "fs").string()) == 0);  // no quota
  // v1: the cpu controller's group.
  write(root / "proc_cgroup", "4:memory:/x\n3:cpu,cpuacct:/job\n");
  write(root / "fs/cpu,cpuacct/job/cpu.cfs_quota_us", "400000\n");
  write(root / "fs/cpu,cpuacct/job/cpu.cfs_period_us", "100000\n");
  CHECK(cgroup_cpu_limit((root / "proc_cgroup").string(), (root / "fs").string()) == 4);
  write(root / "fs/cpu,cpuacct/job/cpu.cfs_quota_us", "-1\n");
  CHECK(cgroup_cpu_limit((root / "proc_cgroup").string(), (root / "fs").string()) == 0);
  CHECK(cgroup_cpu_limit((root / "missing").string(), (root / "fs").string()) == 0);
  fs::remove_all(root);
}
