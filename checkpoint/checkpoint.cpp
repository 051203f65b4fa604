#include "checkpoint/checkpoint.h"

#include <filesystem>

#include "checkpoint/hdf5_reader.h"
#include "checkpoint/safetensors.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::checkpoint {
namespace fs = std::filesystem;

Checkpoint load_checkpoint(const std::string& path, bool keep_raw) {
  if (!fs::exists(path)) fail(path, "no such file or directory");
  Checkpoint ck;
  const bool is_dir = fs::is_directory(path);
  const std::string dir = is_dir ? path : fs::path(path).parent_path().string();
  std::string config_json, config_file;
  TensorMap tensors;
  if (is_dir && fs::exists(dir + "/model.safetensors")) {
    ck.weights_file = dir + "/model.safetensors";
    tensors = read_safetensors(ck.weights_file);
  } else if (!is_dir || fs::exists(dir + "/model.h5")) {
    ck.weights_file = is_dir ? dir + "/model.h5" : path;
    Hdf5Checkpoint h5 = read_hdf5(ck.weights_file);
    tensors = std::move(h5.tensors);
    config_json = std::move(h5.config_json);
    config_file = ck.weights_file + " (attribute 'config')";
  } else {
    fail(path, "no model.safetensors or model.h5 in this directory");
  }
  ck.weights_bytes = static_cast<int64_t>(fs::file_size(ck.weights_file));
  if (config_json.empty()) {
    config_file = dir + "/config.json";
    config_json = read_text_file(config_file);
  }
  std::string gen_file = dir + "/generation_config.json", gen_json;
  if (fs::exists(gen_file)) gen_json = read_text_file(gen_file);
  ModelConfig config = parse_model_config(config_json, config_file, gen_json, gen_file);
  if (keep_raw) ck.raw = tensors;
  ck.weights = resolve_marian_weights(std::move(tensors), config, ck.weights_file);
  ck.vocab_files = VocabularyFiles::from_directory(dir);
  return ck;
}

}  // namespace qtool::checkpoint
