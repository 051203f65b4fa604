// available_cpus(): what the process may really use, not the machine's core
// count. A container limited to 2 CPUs on a 64-core host, or a process pinned
// with taskset, would otherwise start 64 threads that queue behind each other.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "runtime/cpu_count.h"
#include "runtime/parallel.h"

#if defined(__linux__)
#include <sched.h>
#endif

namespace qtool::runtime {
namespace {

int affinity_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(CPU_COUNT(&set), 1);
#endif
  return std::max<int>(static_cast<int>(std::thread::hardware_concurrency()), 1);
}

// ⌈quota / period⌉, or 0 when there is no quota.
int quota_cpus(double quota, double period) {
  if (quota <= 0 || period <= 0) return 0;
  return std::max(1, static_cast<int>(std::ceil(quota / period - 1e-9)));
}

// cgroup v2: cpu.max ("max 100000" or "200000 100000") of the process's group
// and of every group above it; the tightest wins.
int cgroup_v2_cpus(const std::string& root, std::string group) {
  int best = 0;
  for (;;) {
    std::ifstream f(root + group + "/cpu.max");
    std::string quota;
    double period = 0;
    if (f >> quota >> period && quota != "max") {
      const int cpus = quota_cpus(std::atof(quota.c_str()), period);
      if (cpus > 0) best = best > 0 ? std::min(best, cpus) : cpus;
    }
    if (group.empty() || group == "/") break;
    const size_t slash = group.rfind('/');
    group = slash == std::string::npos ? "" : group.substr(0, slash);
  }
  return best;
}

// cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us under the cpu controller's mount.
int cgroup_v1_cpus(const std::string& root, const std::string& group) {
  for (const std::string& mount : {root + "/cpu,cpuacct", root + "/cpu"}) {
    for (const std::string& dir : {mount + group, mount}) {
      std::ifstream q(dir + "/cpu.cfs_quota_us"), p(dir + "/cpu.cfs_period_us");
      double quota = 0, period = 0;
      if (q >> quota && p >> period) return quota_cpus(quota, period);
    }
  }
  return 0;
}

}  // namespace

int cgroup_cpu_limit(const std::string& self_cgroup, const std::string& root) {
  std::ifstream f(self_cgroup);
  std::string line;
  while (std::getline(f, line)) {
    // hierarchy-id:controllers:path
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty()) return cgroup_v2_cpus(root, path);
    std::stringstream list(controllers);
    for (std::string c; std::getline(list, c, ',');)
      if (c == "cpu") return cgroup_v1_cpus(root, path);
  }
  return 0;
}

int available_cpus() {
  static const int cpus = [] {
    const int affinity = affinity_cpus(), quota = cgroup_cpu_limit("/proc/self/cgroup", "/sys/fs/cgroup");
    return quota > 0 ? std::min(affinity, quota) : affinity;
  }();
  return cpus;
}

}  // namespace qtool::runtime
