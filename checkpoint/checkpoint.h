// Imports an FP32 Marian checkpoint: a Hugging Face directory (config.json,
// model.safetensors or model.h5, source.spm, target.spm, vocab.json, …) or an
// .h5 file whose tokenizer files sit beside it.
#pragma once
#include <cstdint>
#include <string>

#include "model/vocabulary.h"
#include "model/weights.h"

namespace qtool::checkpoint {

struct Checkpoint {
  MarianWeights weights;
  VocabularyFiles vocab_files;
  std::string weights_file;  // the tensor file read
  int64_t weights_bytes = 0;
  TensorMap raw;             // only with keep_raw: every tensor as stored, for `inspect`
};

Checkpoint load_checkpoint(const std::string& path, bool keep_raw = false);

}  // namespace qtool::checkpoint
