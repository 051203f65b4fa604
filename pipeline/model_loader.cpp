#include "pipeline/model_loader.h"

#include <filesystem>

#include "checkpoint/checkpoint.h"
#include "model/qtm.h"
#include "util/error.h"
#include "quantize/int8_model.h"

namespace qtool::pipeline {

LoadedModel load_model(const std::string& path, const std::string& quantize) {
  if (looks_like_qtm(path)) {
    if (quantize != "none") throw Error(path + ": already a packed model; --quantize applies to checkpoints");
    QtmModel q = read_qtm(path);
    MarianWeights w = qtm_weights(q, path);
    LoadedModel m;
    m.vocab = std::make_shared<const Vocabulary>(std::move(q.vocab), w.config.vocab_size, w.config.decoder_vocab_size);
    m.model = std::make_shared<const runtime::MarianModel>(std::move(w));
    m.weights_file = path;
    m.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    return m;
  }
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(path);
  if (quantize != "none") {
    quantize::Int8Options q;
    q.weight_type = quantize == "int8-tensor" ? QType::int8_per_tensor : QType::int8_per_channel;
    quantize::quantize_linears_int8(ck.weights, q);
  }
  LoadedModel m;
  const ModelConfig& c = ck.weights.config;
  m.vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  m.model = std::make_shared<const runtime::MarianModel>(std::move(ck.weights));
  m.weights_file = ck.weights_file;
  m.file_bytes = ck.weights_bytes;
  return m;
}

std::vector<std::string> model_input_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file(ec)) files.push_back(e.path().string());
    return files;
  }
  files.push_back(path);
  const fs::path dir = fs::path(path).parent_path();
  for (const char* f : {"config.json", "generation_config.json", "tokenizer_config.json", "vocab.json",
                        "target_vocab.json", "source.spm", "target.spm"})
    files.push_back((dir / f).string());
  return files;
}

}  // namespace qtool::pipeline
