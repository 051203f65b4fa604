// The report tests' input: tests/pipeline/data/results-sample.json is a
// rendering fixture (realistic shapes, invented numbers), not measurements.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "tests/test_paths.h"
#include "util/file.h"

namespace qtool::test {
inline nlohmann::json sample_results() {
  return nlohmann::json::parse(read_text_file(source_dir() + "/tests/pipeline/data/results-sample.json"));
}

inline size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}
}  // namespace qtool::test
