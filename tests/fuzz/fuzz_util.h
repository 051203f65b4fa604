// What every harness shares. A harness passes one input to a real parser and
// lets only qtool::Error (a clear refusal) through; anything else — a crash, a
// sanitizer report, any other exception, a broken invariant — is a finding.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace qtool::fuzz {

// Runs a parse; a qtool::Error is the expected answer to bad input. Its message
// must be one line starting with `prefix` (the file's name and ": "), as the CLI
// prints it.
template <class Parse>
void expect_clean(const std::string& prefix, Parse&& parse) {
  try {
    parse();
  } catch (const qtool::Error& e) {
    const std::string_view what = e.what();
    if (what.rfind(prefix, 0) != 0 || what.find('\n') != std::string_view::npos) {
      std::fprintf(stderr, "badly formed error message: %s\n", e.what());
      std::abort();
    }
  }
}

// An invariant of the parsed result; false is a finding.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// Splits an input holding several files at NUL bytes (JSON and text hold none),
// always into `n` parts: missing ones are empty, extra NULs stay in the last.
inline std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t n) {
  std::vector<std::string> parts(n);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t nul = i + 1 < n ? in.find('\0', at) : std::string_view::npos;
    if (at <= in.size()) parts[i] = std::string(in.substr(at, nul == std::string_view::npos ? in.npos : nul - at));
    if (nul == std::string_view::npos) break;
    at = nul + 1;
  }
  return parts;
}

}  // namespace qtool::fuzz
