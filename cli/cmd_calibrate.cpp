#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "pipeline/stages.h"

namespace qtool::cli {

void add_calibrate(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "calibrate", "Record activation histograms of the FP32 model on real sentences and choose INT8 clipping thresholds");
  auto model = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto method = std::make_shared<std::string>("output");
  auto opt = std::make_shared<calibrate::CalibrateOptions>();
  auto sentences = std::make_shared<int>(500);
  auto threads = std::make_shared<int>(0);
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("--model", *model, "FP32 checkpoint directory or .h5 file")->required();
  cmd->add_option("--data", *data, "Source sentences, one per line (the training side; never test)")->required();
  cmd->add_option("--sentences", *sentences, "How many lines to use, from the top")->check(CLI::Range(1, 10000000))->capture_default_str();
  cmd->add_option("--method", *method,
                  "Input ranges: output (each linear layer's range by its INT8 product's output error; the "
                  "recommended default), or a fixed threshold from the histogram: kl (TensorRT entropy), max, "
                  "percentile, mse")
      ->check(CLI::IsMember({"output", "kl", "max", "percentile", "mse"}))->capture_default_str();
  cmd->add_option("--bins", opt->bins, "Histogram bins (a power of two)")->check(CLI::IsMember({256, 512, 1024, 2048, 4096, 8192}))->capture_default_str();
  cmd->add_option("--percentile", opt->percentile, "With --method percentile")->check(CLI::Range(50.0, 100.0))->capture_default_str();
  cmd->add_option("--threads", *threads, "Worker threads (0 = the CPUs this process may use: affinity and cgroup quota)");
  cmd->add_option("--output", *output, "Calibration file to write (JSON, atomically)")->required();
  auto hessians = std::make_shared<std::string>();
  cmd->add_option("--hessian-output", *hessians,
                  "Also write every linear-layer input's E[x xᵀ] to this binary file (for binary_code.gptq)");
  cmd->add_flag("--quiet", *quiet, "No progress display");
  cmd->callback([=] {
    runtime::set_num_threads(*threads);
    pipeline::CalibrateJob job{*model, *data, *output, *sentences, *opt, *hessians};
    job.options.method = calibrate::parse_method(*method);
    job.options.progress = !*quiet;
    const calibrate::Calibration cal = pipeline::run_calibrate(job);
    int fallbacks[3] = {0, 0, 0};
    for (const auto& [name, t] : cal.tensors)
      if (t.static_error >= 0) ++fallbacks[int(t.int8_input)];
    std::fprintf(stderr, "calibrated %zu inputs on %lld sentences (%s) → %s; linear inputs: %d static, %d dynamic, %d fp32\n",
                 cal.tensors.size(), static_cast<long long>(cal.sentences), method->c_str(), output->c_str(),
                 fallbacks[0], fallbacks[1], fallbacks[2]);
  });
}

}  // namespace qtool::cli
