// The full build: whatever `qtool translate --model` accepts.
#include "api/load_model.h"

#include "pipeline/model_loader.h"

namespace qtool::api {

Model load_model(const std::string& path, const std::string& quantize) {
  pipeline::LoadedModel m = pipeline::load_model(path, quantize);
  return {std::move(m.model), std::move(m.vocab)};
}

bool reads_checkpoints() { return true; }

}  // namespace qtool::api
