// The runtime-only build: packed .qtm models only, as qtool-run reads them, so
// the library links neither HDF5 nor the checkpoint readers nor the quantizer.
#include "api/load_model.h"

#include "model/qtm.h"
#include "util/error.h"

namespace qtool::api {

Model load_model(const std::string& path, const std::string& quantize) {
  if (!looks_like_qtm(path)) fail(path, "not a .qtm model (this runtime-only build of qtool reads packed models only)");
  if (quantize != "none") fail(path, "already a packed model; --quantize applies to checkpoints");
  QtmModel q = read_qtm(path);
  MarianWeights w = qtm_weights(q, path);
  auto vocab = std::make_shared<const Vocabulary>(std::move(q.vocab), w.config.vocab_size, w.config.decoder_vocab_size);
  return {std::make_shared<const runtime::MarianModel>(std::move(w)), std::move(vocab)};
}

bool reads_checkpoints() { return false; }

}  // namespace qtool::api
