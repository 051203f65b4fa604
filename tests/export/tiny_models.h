// The bundled tiny model under the quantizations the export tests share.
#pragma once
#include "checkpoint/checkpoint.h"
#include "quantize/model_quantizer.h"

namespace qtool::test {

// A low-bit plan: 3-bit encoder, 2-bit decoder with an INT8 cross-attention in
// layer 0, and the shared embedding in frequency clusters (made-up counts: id
// order) serving the output projection too.
inline MarianWeights lowbit_tiny(const checkpoint::Checkpoint& ck) {
  MarianWeights w = ck.weights;
  quantize::QuantizeConfig c;
  c.has_plan = true;
  c.binary.iterations = 3;
  for (const char* t : {"enc_self_attn", "enc_ffn"}) c.plan.sublayers[t] = quantize::Precision::binary(3);
  for (const char* t : {"dec_self_attn", "dec_cross_attn", "dec_ffn"}) c.plan.sublayers[t] = quantize::Precision::binary(2);
  c.plan.layers["decoder.0.cross_attn"] = quantize::Precision::int8();
  c.plan.embedding = quantize::Precision::binary(3);
  c.plan.embedding_clusters = 3;
  c.plan.embedding_ratio = 2.0;
  quantize::EmbeddingCounts counts;
  for (int64_t i = 0; i < w.config.vocab_size; ++i) counts.encoder.push_back(w.config.vocab_size - i);
  counts.decoder = counts.encoder;
  quantize::quantize_model(w, c, counts, "test");
  return w;
}

}  // namespace qtool::test
