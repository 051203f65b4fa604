// Opens a model for the public API. Two implementations, chosen by CMake: the
// full build's (load_model.cpp: checkpoints and .qtm through the pipeline's
// loader, exactly as `qtool translate`) and the runtime-only build's
// (load_qtm.cpp: .qtm only, no HDF5, no quantizer linked).
#pragma once
#include <memory>
#include <string>

#include "model/vocabulary.h"
#include "runtime/model.h"

namespace qtool::api {

struct Model {
  std::shared_ptr<const runtime::MarianModel> model;
  std::shared_ptr<const Vocabulary> vocab;
};

// `quantize`: none | int8 | int8-tensor, checkpoints only (checked by the caller).
Model load_model(const std::string& path, const std::string& quantize);
bool reads_checkpoints();

}  // namespace qtool::api
