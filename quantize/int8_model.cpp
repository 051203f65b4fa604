#include "quantize/int8_model.h"

#include "quantize/int8.h"

namespace qtool::quantize {

void quantize_linears_int8(MarianWeights& w, const Int8Options& opt) {
  for (NamedLinear& l : linear_layers(w)) {
    if (l.name == "lm_head" && !opt.output_projection) continue;
    l.weights->int8 = std::make_shared<const Int8Tensor>(quantize_int8(*l.weights->weight, opt.weight_type));
    l.weights->weight.reset();  // the FP32 copy is no longer needed (a tied embedding keeps its own pointer)
  }
}

}  // namespace qtool::quantize
