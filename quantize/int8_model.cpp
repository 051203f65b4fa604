#include "quantize/int8_model.h"

#include "quantize/int8.h"

namespace qtool::quantize {
namespace {
void quantize(LinearWeights& l, QType type) {
  l.int8 = std::make_shared<const Int8Tensor>(quantize_int8(*l.weight, type));
  l.weight.reset();  // the FP32 copy is no longer needed
}
void quantize(AttentionWeights& a, QType type) {
  for (LinearWeights* l : {&a.q, &a.k, &a.v, &a.out}) quantize(*l, type);
}
}  // namespace

void quantize_linears_int8(MarianWeights& w, const Int8Options& opt) {
  for (EncoderLayerWeights& l : w.encoder) {
    quantize(l.self_attn, opt.weight_type);
    quantize(l.fc1, opt.weight_type);
    quantize(l.fc2, opt.weight_type);
  }
  for (DecoderLayerWeights& l : w.decoder) {
    quantize(l.self_attn, opt.weight_type);
    quantize(l.cross_attn, opt.weight_type);
    quantize(l.fc1, opt.weight_type);
    quantize(l.fc2, opt.weight_type);
  }
  if (opt.output_projection)
    w.output_projection_int8 =
        std::make_shared<const Int8Tensor>(quantize_int8(*w.output_projection, opt.weight_type));
}

}  // namespace qtool::quantize
