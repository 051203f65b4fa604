// Writes a resolved (and possibly quantized) Marian model as a .qtm file
// (layout in model/qtm.h and docs/format.md), with its tokenizer files, so the
// file translates on its own — or, with `opt.tokenizer_beside`, with their names and
// CRCs, the files themselves written next to it (as beside a checkpoint's weights;
// an existing different file there is refused). Written to a temporary file and renamed.
#pragma once
#include <map>
#include <string>

#include "model/qtm.h"

#include "model/vocabulary.h"
#include "model/weights.h"

namespace qtool::exporter {

struct QtmWriteStats {
  int64_t file_bytes = 0, tensors = 0;
};

struct QtmWriteOptions {
  bool tokenizer_beside = false;  // the tokenizer files next to the .qtm, not in it
  bool vectors_f16 = false;       // 1-D FP32 tensors (biases, LayerNorm) stored as halves ("fp16")
  std::map<std::string, Int8Fallback> int8_fallbacks = {};  // recorded as "int8_fallbacks"
};

// `quantization_json`: the config that produced the model, recorded in the header.
QtmWriteStats write_qtm(const std::string& path, MarianWeights& w, const VocabularyFiles& vocab,
                        const std::string& quantization_json, const QtmWriteOptions& opt = {});

// The tokenizer files next to a .qtm, named as in a checkpoint directory. A file
// already there must be this model's (it is left alone); all are checked before
// any is written.
void write_tokenizer_beside(const std::string& qtm_path, const VocabularyFiles& vocab);

}  // namespace qtool::exporter
