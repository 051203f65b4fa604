// The figures `qtool bench` and `qtool-run --bench` print: one format for the
// workstation tool and the device runtime, so their runs compare line for line.
#pragma once
#include <cstdint>
#include <string>

#include "runtime/translator.h"

namespace qtool::cli {

struct BenchRun {
  std::string model;
  int64_t model_file_bytes = 0;
  runtime::TranslateStats stats;
  double load_seconds = 0, wall_seconds = 0;  // loading; translating (loading excluded)
  int batch = 0, beam = 0;
};

// Prints the run on stdout, as one line or as JSON; the peak RSS is read here,
// after the run.
void print_bench(const BenchRun& run, bool as_json);

}  // namespace qtool::cli
