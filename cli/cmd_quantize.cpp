#include <cstdio>
#include <optional>

#include "calibrate/calibration.h"
#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "export/qtm_writer.h"
#include "quantize/config.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::cli {

void add_quantize(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "Quantize a checkpoint by a JSON config and write a packed .qtm model");
  auto model = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto calibration = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "Checkpoint directory or .h5 file")->required();
  cmd->add_option("--config", *config, "Quantization config (JSON), e.g. configs/int8-dynamic.json")->required();
  cmd->add_option("--output", *output, "The .qtm file to write (atomically)")->required();
  cmd->add_option("--calibration", *calibration, "Calibration file from `qtool calibrate` (for static activations)");
  cmd->callback([=] {
    // Validate every input before any work, and never write over an input.
    quantize::QuantizeConfig qc = quantize::parse_quantize_config(read_text_file(*config), *config);
    check_distinct(*config, *output);
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
    quantize::quantize_linears_int8(ck.weights, qc.int8);
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
