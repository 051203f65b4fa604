// The process's peak resident set, as `qtool bench` and `qtool-run` report it.
#pragma once
#include <cstdint>

namespace qtool {

// Bytes. VmHWM belongs to the address space made at exec, whereas getrusage's
// ru_maxrss also carries the peak of the parent that forked this process (the
// pipeline runs bench as a child); ru_maxrss only where /proc is missing.
int64_t peak_rss_bytes();

}  // namespace qtool
