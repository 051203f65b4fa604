// Whether another process is holding our CPUs right now, for the pool
// (runtime/parallel.h). On a shared CPU a second thread of ours shares a core
// with the other process, and whenever the OS takes it off mid-chunk the caller
// waits for that chunk: under one busy shell loop two threads ran at 0.90–0.96x
// of one. So each of our threads that runs jobs measures, at most every 10 ms,
// how much of the time it was runnable but waiting for a CPU (Linux's run_delay
// in /proc/thread-self/schedstat). Two windows in a row above a quarter, and
// jobs run on the caller alone for a backoff: 100 ms, doubled while the load is still there when it ends
// (up to 1.6 s). At its end the pool's threads are tried again only if our CPUs
// (the affinity mask's, from /proc/stat) had at least half a CPU idle while the
// caller ran alone; else the backoff is renewed. The chunks are the same either
// way, and so are the results.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qtool::runtime {

// Samples this thread's run queue delay if ≥ 10 ms passed since its last
// sample; `now_ns` is steady_clock time. Starts a backoff as said above.
void note_cpu_share(int64_t now_ns);
// Whether jobs should run on the caller alone at `now_ns` (in a backoff).
bool cpu_shared(int64_t now_ns);
// Off: never back off (tests that need the pool's threads; QTOOL_SHARED_CPU=ignore).
void set_cpu_share_backoff(bool on);

// Idle CPUs among `cpus` between two /proc/stat texts: per CPU, the share of
// its time (jiffies) spent idle or waiting for I/O, summed; −1 if either text
// is malformed or no listed CPU advanced.
double idle_cpus(const std::string& before, const std::string& after, const std::vector<int>& cpus);

// The run_delay field (ns) of a schedstat line "run_ns delay_ns slices"; −1 if malformed.
int64_t schedstat_run_delay(const char* text);

}  // namespace qtool::runtime
