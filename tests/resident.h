// How much of a mapping this process holds resident, from /proc/self/smaps:
// what peak RSS counts, so tests can check that memory is given back.
#pragma once
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace qtool::test {

// KiB resident of the mappings that `match(first, last, path)` selects.
template <class Match>
long resident_kib(Match match) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool selected = false;
  long total = 0, kib;
  while (std::getline(smaps, line)) {
    unsigned long first, last;
    char path[4096] = "";
    if (std::sscanf(line.c_str(), "%lx-%lx %*s %*s %*s %*s %4095s", &first, &last, path) >= 2)
      selected = match(first, last, std::string(path));  // a mapping's first line
    else if (selected && std::sscanf(line.c_str(), "Rss: %ld kB", &kib) == 1)
      total += kib;
  }
  return total;
}

// Of the mapping that holds `p`.
inline long resident_kib_at(const void* p) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  return resident_kib([&](uintptr_t first, uintptr_t last, const std::string&) { return at >= first && at < last; });
}

// Of every mapping of the file `path` (an absolute, canonical path).
inline long resident_kib_of(const std::string& path) {
  return resident_kib([&](uintptr_t, uintptr_t, const std::string& p) { return p == path; });
}

}  // namespace qtool::test
