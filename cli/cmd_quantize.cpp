#include <cstdio>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "export/qtm_writer.h"
#include "quantize/config.h"
#include "util/file.h"

namespace qtool::cli {

void add_quantize(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "Quantize a checkpoint by a JSON config and write a packed .qtm model");
  auto model = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "Checkpoint directory or .h5 file")->required();
  cmd->add_option("--config", *config, "Quantization config (JSON), e.g. configs/int8-dynamic.json")->required();
  cmd->add_option("--output", *output, "The .qtm file to write (atomically)")->required();
  cmd->callback([=] {
    // Validate every input before any work, and never write over an input.
    quantize::QuantizeConfig qc = quantize::parse_quantize_config(read_text_file(*config), *config);
    check_distinct(*config, *output);
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(*model);
    check_distinct(ck.weights_file, *output);
    quantize::quantize_linears_int8(ck.weights, qc.int8);
    exporter::QtmWriteStats st = exporter::write_qtm(*output, ck.weights, ck.vocab_files, qc.text);
    std::fprintf(stderr, "wrote %s: %lld tensors, %lld bytes (%.2fx smaller than %s)\n", output->c_str(),
                 static_cast<long long>(st.tensors), static_cast<long long>(st.file_bytes),
                 double(ck.weights_bytes) / double(st.file_bytes), ck.weights_file.c_str());
  });
}

}  // namespace qtool::cli
