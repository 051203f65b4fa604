#include "runtime/cpu_share.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace qtool::runtime {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kWindow = 10 * kMs, kFirstBackoff = 100 * kMs, kMaxBackoff = 1600 * kMs;

std::atomic<bool> g_on{[] {
  const char* env = std::getenv("QTOOL_SHARED_CPU");
  return !(env && std::strcmp(env, "ignore") == 0);
}()};
std::atomic<int64_t> g_serial_until{0}, g_backoff{kFirstBackoff};

struct ThreadSample {
  int fd = -2;  // -2: not opened yet; -1: no schedstat here
  int64_t wall = 0, delay = 0;
  int over = 0;  // windows in a row over the threshold
  ~ThreadSample() {
    if (fd >= 0) close(fd);
  }
};

int64_t read_delay(ThreadSample& s) {
  if (s.fd == -2) s.fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (s.fd < 0) return -1;
  char buf[96];
  const ssize_t got = pread(s.fd, buf, sizeof buf - 1, 0);
  if (got <= 0) return -1;
  buf[got] = '\0';
  return schedstat_run_delay(buf);
}

// /proc/stat as read at the start of a backoff, to tell at its end whether our
// CPUs had time to spare while the caller ran alone.
std::mutex g_stat_mu;
std::string g_stat_start;  // empty: unreadable, or no backoff under way
std::atomic<bool> g_check_pending{false};

std::string read_proc_stat() {
  const int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text;
  char buf[4096];
  for (ssize_t got; (got = read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(got));
  close(fd);
  return text;
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

int64_t doubled_backoff() { return std::min(2 * g_backoff.load(std::memory_order_relaxed), kMaxBackoff); }

// With g_stat_mu held: run alone from `now` for `backoff`, `stat` being /proc/stat now.
void start_backoff_locked(int64_t now, int64_t backoff, std::string stat) {
  g_backoff.store(backoff, std::memory_order_relaxed);
  g_serial_until.store(now + backoff, std::memory_order_relaxed);
  g_stat_start = std::move(stat);
  g_check_pending.store(true, std::memory_order_release);
}

void back_off(int64_t now) {
  const int64_t until = g_serial_until.load(std::memory_order_relaxed);
  if (now < until) return;  // already running alone
  // The load outlasted the last backoff (it ended < 100 ms ago): wait longer.
  std::lock_guard<std::mutex> lock(g_stat_mu);
  start_backoff_locked(now, now - until < kFirstBackoff ? doubled_backoff() : kFirstBackoff, read_proc_stat());
}

// A backoff ended at `now`: true to run alone for another one, without trying
// the threads, when our CPUs had under half a CPU idle while the caller ran
// alone (the other process still holds the rest). Trying the threads costs a
// few windows of waiting for a preempted member: 2–5% at batch 1 beside one
// busy loop with retries every 1.6 s.
bool extend_backoff(int64_t now) {
  std::lock_guard<std::mutex> lock(g_stat_mu);
  if (!g_check_pending.exchange(false, std::memory_order_acq_rel) || g_stat_start.empty()) return false;
  std::string end = read_proc_stat();
  const double spare = idle_cpus(g_stat_start, end, allowed_cpus());
  g_stat_start.clear();
  if (spare < 0.0 || spare >= 0.5) return false;  // unreadable, or room for a second thread: try it
  start_backoff_locked(now, doubled_backoff(), std::move(end));
  return true;
}

}  // namespace

int64_t schedstat_run_delay(const char* text) {
  char* end = nullptr;
  errno = 0;
  std::strtoll(text, &end, 10);
  if (end == text || errno) return -1;
  const char* second = end;
  const long long delay = std::strtoll(second, &end, 10);
  if (end == second || errno || delay < 0) return -1;
  return delay;
}

void note_cpu_share(int64_t now) {
  if (!g_on.load(std::memory_order_relaxed)) return;
  thread_local ThreadSample s;
  if (s.fd == -1 || now - s.wall < kWindow) return;
  const int64_t delay = read_delay(s);
  if (delay < 0) {  // unreadable here: stop asking
    if (s.fd >= 0) close(s.fd);
    s.fd = -1;
    return;
  }
  // Two windows in a row over a quarter: on a quiet 2-vCPU VM 99% of windows
  // wait ≤ 0.2–0.4 of the time and 90% ≤ 0.02; beside one busy loop the median is 0.33.
  if (s.wall != 0) {
    s.over = (delay - s.delay) * 4 > now - s.wall ? s.over + 1 : 0;
    if (s.over >= 2) back_off(now), s.over = 0;
  }
  s.wall = now;
  s.delay = delay;
}

bool cpu_shared(int64_t now) {
  if (!g_on.load(std::memory_order_relaxed)) return false;
  if (now < g_serial_until.load(std::memory_order_relaxed)) return true;
  return g_check_pending.load(std::memory_order_acquire) && extend_backoff(now);
}

double idle_cpus(const std::string& before, const std::string& after, const std::vector<int>& cpus) {
  // Per "cpuN" line: idle + iowait, and the sum of the first eight fields
  // (user nice system idle iowait irq softirq steal; guest time is in user).
  auto parse = [](const std::string& text, std::vector<std::pair<int64_t, int64_t>>& out) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || !std::isdigit(static_cast<unsigned char>(line[3])))
        continue;
      std::istringstream fields(line.substr(3));
      int cpu = -1;
      int64_t v[8] = {};
      fields >> cpu;
      for (int64_t& x : v) fields >> x;
      if (!fields || cpu < 0 || cpu >= 65536) return false;
      if (out.size() <= static_cast<size_t>(cpu)) out.resize(cpu + 1, {-1, -1});
      int64_t total = 0;
      for (int64_t x : v) total += x;
      out[cpu] = {v[3] + v[4], total};
    }
    return true;
  };
  std::vector<std::pair<int64_t, int64_t>> a, b;
  if (!parse(before, a) || !parse(after, b)) return -1.0;
  double idle = 0.0;
  int counted = 0;
  for (int c : cpus) {
    if (c < 0 || static_cast<size_t>(c) >= a.size() || static_cast<size_t>(c) >= b.size()) continue;
    if (a[c].second < 0 || b[c].second < 0) continue;  // offline
    const int64_t di = b[c].first - a[c].first, dt = b[c].second - a[c].second;
    if (dt <= 0 || di < 0) continue;
    idle += static_cast<double>(std::min(di, dt)) / static_cast<double>(dt);
    ++counted;
  }
  return counted ? idle : -1.0;
}

void set_cpu_share_backoff(bool on) {
  g_on.store(on, std::memory_order_relaxed);
  if (!on) g_serial_until.store(0, std::memory_order_relaxed), g_check_pending.store(false);
}

}  // namespace qtool::runtime
