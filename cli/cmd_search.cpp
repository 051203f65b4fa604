#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "calibrate/calibration.h"
#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/model_loader.h"
#include "cli/options.h"
#include "quantize/token_counts.h"
#include "runtime/translator.h"
#include "search/precision_search.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::cli {
namespace {

std::string steps_table(const search::SearchResult& r) {
  std::string t = "| step | change | average bits | weight bytes | dev BLEU | Δ FP32 |\n| --- | --- | --- | --- | --- | --- |\n";
  char buf[256];
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    std::snprintf(buf, sizeof buf, "| %zu | %s | %.3f | %lld | %.2f | %+.2f |\n", i, s.change.c_str(), s.average_bits,
                  static_cast<long long>(s.weight_bytes), s.bleu, s.bleu - r.fp32_bleu);
    t += buf;
  }
  return t;
}

std::string result_json(const search::SearchResult& r) {
  nlohmann::json steps = nlohmann::json::array(), sens = nlohmann::json::array();
  for (const auto& s : r.steps)
    steps.push_back({{"change", s.change}, {"average_bits", s.average_bits}, {"weight_bytes", s.weight_bytes},
                     {"dev_bleu", s.bleu}});
  for (const auto& s : r.sensitivity) sens.push_back({{"knob", s.knob}, {"level", s.level}, {"dev_bleu", s.bleu}});
  return nlohmann::json{{"fp32_dev_bleu", r.fp32_bleu}, {"sensitivity", sens}, {"steps", steps}}.dump(1) + "\n";
}

}  // namespace

void add_search(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "search", "Find per-sub-layer binary-code bits by greedy search on dev BLEU; writes a quantization config");
  auto model = std::make_shared<std::string>();
  auto dev_src = std::make_shared<std::string>();
  auto dev_ref = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto counts_file = std::make_shared<std::string>();
  auto calibration = std::make_shared<std::string>();
  auto table = std::make_shared<std::string>();
  auto opt = std::make_shared<search::SearchOptions>();
  auto threads = std::make_shared<int>(0);
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("--model", *model, "FP32 checkpoint directory or .h5 file")->required();
  cmd->add_option("--dev-src", *dev_src, "Dev source sentences (never test)")->required();
  cmd->add_option("--dev-ref", *dev_ref, "Dev references")->required();
  auto* target = cmd->add_option("--target-bits", opt->target_bits, "Stop at this average of bits over all weights");
  auto* drop = cmd->add_option("--max-bleu-drop", opt->max_bleu_drop, "Stop before losing more dev BLEU than this");
  target->excludes(drop);
  cmd->add_option("--output", *output, "The quantization config to write (JSON)")->required();
  cmd->add_option("--token-counts", *counts_file, "Token counts (qtool count-tokens) for frequency-clustered embeddings");
  cmd->add_option("--calibration", *calibration,
                  "Calibration file (qtool calibrate): activation-aware binary code for every candidate");
  cmd->add_option("--ratio", opt->embedding_ratio, "Embedding cluster size ratio r")->capture_default_str();
  cmd->add_option("--sentences", opt->sentences, "Dev lines for the greedy steps (0: all)")->capture_default_str();
  cmd->add_option("--sensitivity-sentences", opt->sensitivity_sentences, "Dev lines for the sensitivity pass (0: half)");
  cmd->add_option("--iterations", opt->binary.iterations, "Alternating refinement rounds")->capture_default_str();
  cmd->add_option("--group-size", opt->binary.group_size, "Columns per scale (0: per row)")->capture_default_str();
  cmd->add_option("--streams", opt->streams, "Parallel batches while evaluating")->capture_default_str();
  cmd->add_option("--table", *table, "Also write the steps and sensitivities (JSON)");
  cmd->add_option("--threads", *threads, "Worker threads (0 = all cores)");
  cmd->add_flag("--quiet", *quiet, "Print only the final table");
  cmd->callback([=] {
    if (opt->target_bits <= 0 && opt->max_bleu_drop < 0) throw Error("search: give --target-bits or --max-bleu-drop");
    std::vector<std::string> inputs = model_input_files(*model);
    for (const std::string* f : {dev_src.get(), dev_ref.get(), calibration.get(), counts_file.get()})
      if (!f->empty()) inputs.push_back(*f);
    check_distinct(inputs, *output);
    if (!table->empty()) {
      inputs.push_back(*output);
      check_distinct(inputs, *table);
    }
    const std::vector<std::string> src = read_input_lines(*dev_src), ref = read_lines(*dev_ref);
    if (src.size() != ref.size())
      throw Error(*dev_ref + ": " + std::to_string(ref.size()) + " lines, but " + *dev_src + " has " +
                  std::to_string(src.size()));
    std::optional<calibrate::Calibration> calib;
    if (!calibration->empty()) {
      check_distinct(*calibration, *output);
      calib = calibrate::parse_calibration(read_text_file(*calibration), *calibration);
    }
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(*model);
    if (calib) {
      const std::string sum = calibrate::model_checksum(ck.weights_file);
      if (sum != calib->model_checksum)
        throw Error(*calibration + ": model_checksum " + calib->model_checksum + " is for another model (" +
                    ck.weights_file + " has " + sum + "); calibrate this model first");
      for (const auto& [name, st] : calib->tensors)
        if (!st.column_mean_square.empty()) opt->column_weights[name] = st.column_mean_square;
      if (!*quiet)
        std::fprintf(stderr, "activation-aware binary code: column weights of %zu inputs\n",
                     opt->column_weights.size());
    }
    const ModelConfig& c = ck.weights.config;
    auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
    quantize::EmbeddingCounts counts;
    if (!counts_file->empty())
      counts = quantize::embedding_counts(quantize::parse_token_counts(read_text_file(*counts_file), *counts_file),
                                          *vocab, ck.weights, *counts_file);
    runtime::set_num_threads(*threads);
    opt->progress = !*quiet;
    const search::SearchResult r =
        search::search_precision(ck.weights, vocab, counts, src, ref, *opt, [&](const std::string& line) {
          if (!*quiet) std::fprintf(stderr, "%s\n", line.c_str());
        });
    char desc[160];
    std::snprintf(desc, sizeof desc, "qtool search: %.2f average bits, dev BLEU %.2f (FP32 %.2f)",
                  r.steps.back().average_bits, r.steps.back().bleu, r.fp32_bleu);
    write_file_atomic(*output, search::plan_config_json(r.chosen, *opt, desc));
    if (!table->empty()) write_file_atomic(*table, result_json(r));
    std::printf("%s", steps_table(r).c_str());
    std::fprintf(stderr, "wrote %s\n", output->c_str());
  });
}

}  // namespace qtool::cli
