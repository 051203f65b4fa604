// Writes a resolved (and possibly quantized) Marian model as a .qtm file
// (layout in model/qtm.h and docs/format.md), with its tokenizer files, so the
// file translates on its own. Written to a temporary file and renamed.
#pragma once
#include <string>

#include "model/vocabulary.h"
#include "model/weights.h"

namespace qtool::exporter {

struct QtmWriteStats {
  int64_t file_bytes = 0, tensors = 0;
};

// `quantization_json`: the config that produced the model, recorded in the header.
QtmWriteStats write_qtm(const std::string& path, MarianWeights& w, const VocabularyFiles& vocab,
                        const std::string& quantization_json);

}  // namespace qtool::exporter
