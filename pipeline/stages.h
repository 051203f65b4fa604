// The toolchain's stages as functions over files: calibrate, quantize (and
// export the .qtm), search. The `qtool calibrate|quantize|search` subcommands
// and `qtool pipeline` both call these, so the two never drift apart. Every
// input is validated before work starts; every output is written atomically.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calibrate/calibration.h"
#include "export/qtm_writer.h"
#include "pipeline/block_reconstruction.h"
#include "quantize/model_quantizer.h"
#include "search/precision_search.h"

namespace qtool::pipeline {

struct CalibrateJob {
  std::string model, data, output;  // checkpoint, source sentences (training side), calib.json
  int sentences = 500;              // from the top of `data`
  calibrate::CalibrateOptions options;
  std::string hessian_output;       // optional: the hessian file (GPTQ); "" = none
};
calibrate::Calibration run_calibrate(const CalibrateJob& job);

struct QuantizeJob {
  std::string model;
  std::string config_text, config_name;  // the quantization config and where it came from (for messages)
  std::string calibration, token_counts;  // optional inputs ("" = none)
  std::string output;                     // the .qtm
  std::string report;                     // optional: every tensor's format, bits and error (JSON)
  bool progress = true;
  std::string hessians;                   // the hessian file, for binary_code.gptq ("" = none)
  std::string tokenizer;                  // "embedded" / "beside" overrides the config's; "" = the config's
  // For a hand-written config with binary_code.gptq / bias_correction (or clusters
  // without counts): compute the statistics from these source lines, as a searched
  // plan's recorded inputs would ("" = none).
  std::string calibration_data;
  int calibration_sentences = 1000;
};
// A static INT8 product input: how its range was chosen, what it does to the
// product, and what the quantized model uses ("static", or a fallback:
// "dynamic", "fp32"; "dynamic" also when the config has no fallback and static
// was not judged).
struct InputReport {
  std::string name, chosen_by, used;
  double threshold = 0, low = 0;
  int zero_point = -1;  // −1: symmetric
  double clipped_fraction = -1, static_error = -1, dynamic_error = -1;
};
struct QuantizeResult {
  std::vector<quantize::TensorReport> tensors;
  std::vector<InputReport> inputs;  // with static activations
  exporter::QtmWriteStats written;
  std::string weights_file;
  int64_t fp32_bytes = 0;      // the checkpoint's weights file
  int static_inputs = -1;      // layers given static activation scales (−1: dynamic activations)
  int activation_aware = -1;   // layers with calibration-weighted binary code (−1: not used)
  std::vector<BlockReport> blocks;  // binary_code.reconstruction's fits
};
QuantizeResult run_quantize(const QuantizeJob& job);
std::string tensor_report_json(const std::vector<quantize::TensorReport>& tensors,
                               const std::vector<InputReport>& inputs = {});

struct SearchJob {
  std::string model, dev_src, dev_ref, output;  // output: the chosen quantization config
  std::string calibration, token_counts;        // optional
  std::string table;                            // optional: steps and sensitivities (JSON)
  search::SearchOptions options;
  // GPTQ's hessians come from these source lines (and the model's translations
  // of them); "" = the dev source. The plan records them.
  std::string calibration_data;
  int calibration_sentences = 1000;             // the first N lines of it
  bool gptq = true;                             // false: the plain alternating code
  bool bias_correction = false;                 // QuantizeConfig::bias_correction (measured: no BLEU gain)
};
search::SearchResult run_search(const SearchJob& job, const std::function<void(const std::string&)>& log = {});
std::string search_table_json(const search::SearchResult& r);

// Test BLEU of a model (checkpoint or .qtm): greedy, and beam search when beam > 1.
struct EvaluateJob {
  std::string model, src, ref;
  int beam = 4, sentences = 0, batch = 32;  // sentences: first N lines (0: all)
  std::string output, greedy_output, beam_output;  // eval.json and the translations
  bool progress = true;
};
nlohmann::json run_evaluate(const EvaluateJob& job);

// Speed and memory of a model, measured by `qtool bench` in child processes:
// tokens/s at `batch`, and batch-1 greedy latency, whose process's peak RSS is
// reported (the memory of translating one sentence at a time, as on a device).
struct BenchJob {
  std::string model, input;
  int sentences = 200, batch = 32, threads = 0;
  bool batch1 = true;
  bool progress = true;  // the child's progress display, on a terminal
};
nlohmann::json run_bench(const BenchJob& job);

// Copies packed models into a deployment folder (atomically) with manifest.json
// (name, bytes, content hash of each).
struct ExportJob {
  std::string dir;
  std::vector<std::pair<std::string, std::string>> models;  // name, .qtm path
};
void run_export(const ExportJob& job);

}  // namespace qtool::pipeline
