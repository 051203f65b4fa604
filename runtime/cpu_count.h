// The CPU quota of the process's cgroup, for available_cpus() (runtime/parallel.h).
#pragma once
#include <string>

namespace qtool::runtime {

// ⌈quota / period⌉ of the tightest CPU limit on the group that `self_cgroup`
// (the format of /proc/self/cgroup) names, under the cgroup file system at
// `root` (/sys/fs/cgroup): v2 cpu.max of the group and its ancestors, or v1
// cpu.cfs_quota_us / cpu.cfs_period_us. 0 when there is none (or no file).
int cgroup_cpu_limit(const std::string& self_cgroup, const std::string& root);

}  // namespace qtool::runtime
