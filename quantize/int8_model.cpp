#include "quantize/int8_model.h"


namespace qtool::quantize {

void quantize_linears_int8(MarianWeights& w, const Int8Options& opt) {
  const bool tied = w.output.weight == w.decoder_embed;
  if (opt.embeddings) {
    // Per row: an embedding row and an output channel are the same row of a tied matrix.
    const bool shared_table = w.encoder_embed == w.decoder_embed;
    w.encoder_embed_int8 = std::make_shared<const Int8Tensor>(quantize_int8(*w.encoder_embed, QType::int8_per_channel));
    w.decoder_embed_int8 = shared_table ? w.encoder_embed_int8
                                        : std::make_shared<const Int8Tensor>(quantize_int8(*w.decoder_embed, QType::int8_per_channel));
    if (tied && opt.output_projection) w.output.int8 = w.decoder_embed_int8;
    w.encoder_embed.reset();
    w.decoder_embed.reset();
  }
  for (NamedLinear& l : linear_layers(w)) {
    if (l.weights->int8) continue;  // the tied output projection, done above
    if (l.name == "lm_head" && !opt.output_projection) continue;
    if (opt.fp32_inputs.count(linear_input_name(l.name))) continue;  // the calibration's FP32 fallback
    l.weights->int8 = std::make_shared<const Int8Tensor>(quantize_int8(*l.weights->weight, opt.weight_type));
    l.weights->weight.reset();  // the FP32 copy is no longer needed (a tied embedding keeps its own pointer)
  }
  if (w.output.int8) w.output.weight.reset();
}

int set_calibrated_inputs(MarianWeights& w, const std::map<std::string, CalibratedInput>& inputs) {
  int set = 0;
  for (NamedLinear& l : linear_layers(w)) {
    auto it = inputs.find(l.name);
    if (it == inputs.end() || !l.weights->int8) continue;
    l.weights->input = it->second;
    ++set;
  }
  return set;
}

}  // namespace qtool::quantize
