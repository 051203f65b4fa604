// The pipeline config (JSON, docs/pipeline.md): which model, which data, which
// stages with which options, where the outputs go. Everything is validated here,
// before any work: unknown keys, wrong types, missing files and impossible
// combinations are refused with the JSON path and a hint. Relative paths are
// relative to the config file's directory.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibrate/calibration.h"
#include "search/precision_search.h"

namespace qtool::pipeline {

struct DataFiles {
  std::string calibration, dev_src, dev_ref, test_src, test_ref, token_counts;  // "" = not given
};

struct CalibrateSpec {
  int sentences = 500;
  calibrate::CalibrateOptions options;
  bool hessians = false;  // also write hessians.bin: some variant's config uses binary_code.gptq
};

struct SearchSpec {
  search::SearchOptions options;
  bool activation_aware = false;  // weigh columns by the calibration (needs the calibrate stage)
};

// One quantized (or FP32) model to build and measure.
struct VariantSpec {
  std::string name;
  enum class Source { fp32, file, inline_config, search } source = Source::file;
  std::string config_file;   // Source::file
  std::string config_text;   // file or inline: the quantization config
  bool use_calibration = false;  // static INT8 activations or activation-aware binary code
  bool use_token_counts = false; // frequency-clustered embedding
  bool use_hessians = false;     // binary_code.gptq: the calibrate stage's hessian file
};

struct EvaluateSpec {
  int beam = 4;        // a beam-search BLEU too when > 1
  int sentences = 0;   // first N test lines (0: all)
  int batch = 32;
};

struct BenchSpec {
  int sentences = 200;  // first N test lines
  int batch = 32;
  int threads = 0;      // 0: all cores
  bool batch1 = true;   // also batch-1 greedy latency
};

struct ExportSpec {
  std::string dir;  // relative to the output directory unless absolute
  std::vector<std::string> variants;
};

struct PipelineConfig {
  std::string file, name, model, output_dir;
  int threads = 0;
  DataFiles data;
  std::optional<CalibrateSpec> calibrate;
  std::optional<SearchSpec> search;
  std::vector<VariantSpec> variants;
  std::optional<EvaluateSpec> evaluate;
  std::optional<BenchSpec> bench;
  std::optional<ExportSpec> exporter;
  nlohmann::json json;  // the document as read (each stage hashes its own section)
};

PipelineConfig parse_pipeline_config(const std::string& text, const std::string& file);
PipelineConfig read_pipeline_config(const std::string& file);

}  // namespace qtool::pipeline
