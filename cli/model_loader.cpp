#include "cli/model_loader.h"

#include "checkpoint/checkpoint.h"

namespace qtool::cli {

LoadedModel load_model(const std::string& path) {
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(path);
  LoadedModel m;
  const ModelConfig& c = ck.weights.config;
  m.vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  m.model = std::make_shared<const runtime::MarianModel>(ck.weights);
  m.weights_file = ck.weights_file;
  m.file_bytes = ck.weights_bytes;
  return m;
}

}  // namespace qtool::cli
