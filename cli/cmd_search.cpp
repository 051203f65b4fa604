#include <omp.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "runtime/translator.h"
#include "pipeline/stages.h"
#include "search/precision_search.h"
#include "util/error.h"

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
  auto calibration_data = std::make_shared<std::string>();
  auto calibration_sentences = std::make_shared<int>(1000);
  auto plain = std::make_shared<bool>(false);
  cmd->add_option("--token-counts", *counts_file,
                  "Token counts (qtool count-tokens) for frequency-clustered embeddings (default: the frequencies "
                  "the model's SentencePiece models were trained with)");
  cmd->add_option("--calibration-data", *calibration_data,
                  "Source lines for GPTQ's hessians (default: --dev-src); the plan records it");
  cmd->add_option("--calibration-sentences", *calibration_sentences, "The first N lines of it")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_flag("--no-gptq", *plain, "Plain alternating binary code instead of GPTQ");
  auto bias_correction = std::make_shared<bool>(false);
  cmd->add_flag("--bias-correction", *bias_correction,
                "Also correct each binary-coded layer's bias for its mean output error (binary_code.bias_correction)");
  cmd->add_option("--calibration", *calibration,
                  "Calibration file (qtool calibrate): activation-aware binary code for every candidate");
  cmd->add_option("--ratio", opt->embedding_ratio, "Embedding cluster size ratio r")->capture_default_str();
  cmd->add_option("--sentences", opt->sentences, "Dev lines for the greedy steps (0: all)")->capture_default_str();
  cmd->add_option("--sensitivity-sentences", opt->sensitivity_sentences, "Dev lines for the sensitivity pass (0: half)");
  auto criterion = std::make_shared<std::string>("nll");
  cmd->add_option("--criterion", *criterion,
                  "What the sensitivity pass and the steps measure: nll (of the FP32 model's own dev translations; "
                  "smooth) or bleu (dev BLEU, the paper's)")
      ->check(CLI::IsMember({"nll", "bleu"}))
      ->capture_default_str();
  cmd->add_option("--iterations", opt->binary.iterations, "Alternating refinement rounds")->capture_default_str();
  cmd->add_option("--group-size", opt->binary.group_size, "Columns per scale (0: per row)")->capture_default_str();
  cmd->add_option("--streams", opt->streams, "Parallel batches while evaluating")->capture_default_str();
  cmd->add_option("--table", *table, "Also write the steps and sensitivities (JSON)");
  cmd->add_option("--threads", *threads, "Worker threads (0 = the CPUs this process may use: affinity and cgroup quota)");
  cmd->add_flag("--quiet", *quiet, "Print only the final table");
  cmd->callback([=] {
    if (opt->target_bits <= 0 && opt->max_bleu_drop < 0) throw Error("search: give --target-bits or --max-bleu-drop");
    runtime::set_num_threads(*threads);
    omp_set_num_threads(runtime::num_threads());  // the quantizer's loops (GPTQ, codes) are OpenMP
    pipeline::SearchJob job{*model, *dev_src, *dev_ref, *output, *calibration, *counts_file, *table, *opt,
                            *calibration_data, *calibration_sentences, !*plain, *bias_correction};
    job.options.progress = !*quiet;
    search::criterion_from_name(*criterion, &job.options.criterion);  // (checked: IsMember above)
    const search::SearchResult r = pipeline::run_search(job, [&](const std::string& line) {
      if (!*quiet) std::fprintf(stderr, "%s\n", line.c_str());
    });
    std::printf("%s", steps_table(r).c_str());
    std::fprintf(stderr, "wrote %s\n", output->c_str());
  });
}

}  // namespace qtool::cli
