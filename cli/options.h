// Options shared by the subcommands that run a model.
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "qtool/translator.h"
#include "runtime/translator.h"

namespace qtool::cli {

struct RunOptions {
  std::string model;
  int beam = 1;
  int batch = 32;
  int batch_tokens = 0;
  int streams = 0;  // 0: runtime::choose_streams decides
  int threads = 0;
  int max_new_tokens = 0;  // 0 = the model's (runtime::max_new_tokens)
  double length_penalty = 1.0;
  bool quiet = false;
  std::string quantize = "none";  // in-memory quantization at load: none | int8 | int8-tensor
};

void add_run_options(CLI::App& cmd, RunOptions& opt);
// Applies --threads and builds the runtime options.
runtime::TranslateOptions translate_options(const RunOptions& opt);
// The same options for the public API (qtool translate).
TranslatorOptions translator_options(const RunOptions& opt);
// Input lines; an empty file is refused (there is nothing to do, and it is usually a mistake).
std::vector<std::string> read_input_lines(const std::string& path);

}  // namespace qtool::cli
