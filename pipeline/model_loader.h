// Opens a model path (a checkpoint directory, an .h5 file or a packed .qtm) as a
// ready Translator, and says what it loaded.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/translator.h"

namespace qtool::pipeline {

struct LoadedModel {
  std::shared_ptr<const runtime::MarianModel> model;
  std::shared_ptr<const Vocabulary> vocab;
  std::string weights_file;
  int64_t file_bytes = 0;
  runtime::Translator translator() const { return runtime::Translator(model, vocab); }
};

// Every file --model reads (a directory's files; an .h5 file and the tokenizer
// files beside it; a .qtm), so no output is ever written over one of them.
std::vector<std::string> model_input_files(const std::string& path);

// `quantize`: none | int8 | int8-tensor (see --quantize).
LoadedModel load_model(const std::string& path, const std::string& quantize = "none");

}  // namespace qtool::pipeline
