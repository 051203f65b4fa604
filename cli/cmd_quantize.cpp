#include <cmath>
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "pipeline/stages.h"
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
  auto tokenizer = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "Checkpoint directory or .h5 file")->required();
  cmd->add_option("--config", *config, "Quantization config (JSON), e.g. configs/int8-dynamic.json")->required();
  cmd->add_option("--output", *output, "The .qtm file to write (atomically)")->required();
  cmd->add_option("--calibration", *calibration, "Calibration file from `qtool calibrate` (static activations; with a precision plan, "
                  "activation-aware binary code)");
  cmd->add_option("--token-counts", *counts_file,
                  "Token counts from `qtool count-tokens` for frequency-clustered embeddings (default: the "
                  "frequencies the model's SentencePiece models were trained with)");
  auto hessians = std::make_shared<std::string>();
  cmd->add_option("--hessians", *hessians, "Hessian file from `qtool calibrate --hessian-output` (binary_code.gptq)");
  auto calibration_data = std::make_shared<std::string>();
  auto calibration_sentences = std::make_shared<int>(1000);
  cmd->add_option("--calibration-data", *calibration_data,
                  "Source lines for binary_code.gptq's hessians (and bias correction's means): the FP32 model "
                  "translates them (a searched plan records its own)");
  cmd->add_option("--calibration-sentences", *calibration_sentences, "The first N lines of it")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--report", *report_file, "Write every tensor's format, bits and reconstruction error (JSON)");
  cmd->add_option("--tokenizer", *tokenizer,
                  "Where the tokenizer files go: inside the .qtm (embedded) or next to it (beside); overrides the config's \"tokenizer\"")
      ->check(CLI::IsMember({"embedded", "beside"}));
  cmd->add_flag("--quiet", *quiet, "No progress display");
  cmd->callback([=] {
    pipeline::QuantizeJob job{*model, read_text_file(*config), *config, *calibration, *counts_file, *output,
                              *report_file, !*quiet, *hessians, *tokenizer, *calibration_data,
                              *calibration_sentences};
    const pipeline::QuantizeResult r = pipeline::run_quantize(job);
    int gptq = 0;
    for (const auto& t : r.tensors) gptq += t.gptq;
    if (gptq) std::fprintf(stderr, "gptq binary code: %d layers\n", gptq);
    if (r.activation_aware >= 0)
      std::fprintf(stderr, "activation-aware binary code: %d layers weighted\n", r.activation_aware);
    print_quantize_summary(r.tensors);
    for (const pipeline::BlockReport& b : r.blocks)
      std::fprintf(stderr, "reconstruction %s: %s %.4f -> %.4f on held-out rows (%lld rows, best step %d)\n",
                   b.name.c_str(), b.name == "lm_head" ? "KL to FP32 per token" : "relative output error",
                   b.result.start_error, b.result.error, static_cast<long long>(b.rows), b.result.best_iteration);
    if (r.static_inputs >= 0) std::fprintf(stderr, "static activation scales for %d layers\n", r.static_inputs);
    std::fprintf(stderr, "wrote %s: %lld tensors, %lld bytes (%.2fx smaller than %s)\n", output->c_str(),
                 static_cast<long long>(r.written.tensors), static_cast<long long>(r.written.file_bytes),
                 double(r.fp32_bytes) / double(r.written.file_bytes), r.weights_file.c_str());
  });
}

}  // namespace qtool::cli
