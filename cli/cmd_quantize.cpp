#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "calibrate/calibration.h"
#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/model_loader.h"
#include "export/qtm_writer.h"
#include "quantize/config.h"
#include "quantize/model_quantizer.h"
#include "quantize/token_counts.h"
#include "util/progress.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::cli {
namespace {

// Per block: parameters, average code bits and the parameter-weighted error.
void print_quantize_summary(const std::vector<quantize::TensorReport>& report) {
  struct Sum {
    int64_t params = 0;
    double bits = 0, err2 = 0;
  };
  std::map<std::string, Sum> blocks;
  for (const auto& r : report) {
    const std::string b = r.name.rfind("model.encoder.layers", 0) == 0   ? "encoder"
                          : r.name.rfind("model.decoder.layers", 0) == 0 ? "decoder"
                          : r.name == "lm_head"                          ? "output"
                                                                         : "embedding";
    for (const std::string& k : {b, std::string("all")}) {
      blocks[k].params += r.params;
      blocks[k].bits += r.bits * double(r.params);
      blocks[k].err2 += r.relative_error * r.relative_error * double(r.params);
    }
  }
  std::fprintf(stderr, "%-10s %12s %8s %10s\n", "block", "weights", "bits", "rel. error");
  for (const char* b : {"embedding", "encoder", "decoder", "output", "all"}) {
    auto it = blocks.find(b);
    if (it == blocks.end()) continue;
    const Sum& s = it->second;
    std::fprintf(stderr, "%-10s %12lld %8.2f %10.4f\n", b, static_cast<long long>(s.params), s.bits / double(s.params),
                 std::sqrt(s.err2 / double(s.params)));
  }
}

std::string report_json(const std::vector<quantize::TensorReport>& report) {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& r : report) {
    t.push_back({{"name", r.name}, {"format", r.format}, {"params", r.params}, {"bits", r.bits},
                 {"relative_error", r.relative_error}});
    if (r.activation_aware) t.back()["weighted_relative_error"] = r.weighted_relative_error;
  }
  return nlohmann::json{{"tensors", t}}.dump(1) + "\n";
}

}  // namespace

void add_quantize(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "Quantize a checkpoint by a JSON config and write a packed .qtm model");
  auto model = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto calibration = std::make_shared<std::string>();
  auto counts_file = std::make_shared<std::string>();
  auto report_file = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("--model", *model, "Checkpoint directory or .h5 file")->required();
  cmd->add_option("--config", *config, "Quantization config (JSON), e.g. configs/int8-dynamic.json")->required();
  cmd->add_option("--output", *output, "The .qtm file to write (atomically)")->required();
  cmd->add_option("--calibration", *calibration, "Calibration file from `qtool calibrate` (static activations; with a precision plan, "
                  "activation-aware binary code)");
  cmd->add_option("--token-counts", *counts_file,
                  "Token counts from `qtool count-tokens` (for frequency-clustered embeddings)");
  cmd->add_option("--report", *report_file, "Write every tensor's format, bits and reconstruction error (JSON)");
  cmd->add_flag("--quiet", *quiet, "No progress display");
  cmd->callback([=] {
    // Validate every input before any work, and never write over an input.
    quantize::QuantizeConfig qc = quantize::parse_quantize_config(read_text_file(*config), *config);
    // The outputs (--output, --report) never name an input, nor each other.
    std::vector<std::string> inputs = model_input_files(*model);
    for (const std::string* f : {config.get(), calibration.get(), counts_file.get()})
      if (!f->empty()) inputs.push_back(*f);
    check_distinct(inputs, *output);
    if (!report_file->empty()) {
      inputs.push_back(*output);
      check_distinct(inputs, *report_file);
    }
    const bool static_act = qc.activations == "static";
    if (static_act && calibration->empty())
      throw Error(*config + ": int8.activations: \"static\" needs --calibration FILE (from qtool calibrate)");
    std::optional<calibrate::Calibration> calib;
    if (!calibration->empty()) {
      check_distinct(*calibration, *output);
      calib = calibrate::parse_calibration(read_text_file(*calibration), *calibration);
    }
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(*model);
    check_distinct(ck.weights_file, *output);
    if (calib) {
      const std::string sum = calibrate::model_checksum(ck.weights_file);
      if (sum != calib->model_checksum)
        throw Error(*calibration + ": model_checksum " + calib->model_checksum + " is for another model (" +
                    ck.weights_file + " has " + sum + "); calibrate this model first");
    }
    quantize::EmbeddingCounts counts;
    if (!counts_file->empty()) {
      check_distinct(*counts_file, *output);
      const ModelConfig& mc = ck.weights.config;
      const Vocabulary vocab(ck.vocab_files, mc.vocab_size, mc.decoder_vocab_size);
      counts = quantize::embedding_counts(quantize::parse_token_counts(read_text_file(*counts_file), *counts_file),
                                          vocab, ck.weights, *counts_file);
    }
    // Activation-aware binary code: the calibration's per-column mean squares weigh the columns.
    if (calib && qc.has_plan)
      for (const auto& [name, st] : calib->tensors)
        if (!st.column_mean_square.empty()) qc.column_weights[name] = st.column_mean_square;
    Progress progress("quantizing", static_cast<int64_t>(linear_layers(ck.weights).size()) + 2, !*quiet);
    int last = 0;
    const std::vector<quantize::TensorReport> report =
        quantize::quantize_model(ck.weights, qc, counts, *config, [&](int done, int) {
          progress.advance(done - last);
          last = done;
        });
    progress.finish();
    if (calib && qc.has_plan) {
      int weighted = 0;
      for (const auto& r : report) weighted += r.activation_aware;
      std::fprintf(stderr, "activation-aware binary code: %d layers weighted\n", weighted);
    }
    print_quantize_summary(report);
    if (!report_file->empty()) {
      check_distinct(*report_file, *output);
      write_file_atomic(*report_file, report_json(report));
    }
    if (static_act) {
      const int set = quantize::set_calibrated_inputs(ck.weights, calib->inputs());
      std::fprintf(stderr, "static activation scales for %d layers (%s calibration)\n", set,
                   calibrate::method_name(calib->method));
    }
    exporter::QtmWriteStats st = exporter::write_qtm(*output, ck.weights, ck.vocab_files, qc.text);
    std::fprintf(stderr, "wrote %s: %lld tensors, %lld bytes (%.2fx smaller than %s)\n", output->c_str(),
                 static_cast<long long>(st.tensors), static_cast<long long>(st.file_bytes),
                 double(ck.weights_bytes) / double(st.file_bytes), ck.weights_file.c_str());
  });
}

}  // namespace qtool::cli
