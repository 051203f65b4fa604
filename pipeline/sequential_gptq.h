// Sequential GPTQ with error compensation (`binary_code.gptq.sequential`):
// layer by layer in the order data flows, the partly quantized model (the
// layers done so far decoded to FP32, the embeddings FP32) and the FP32 model
// are fed the same tokens (the FP32 model's greedy translations of the
// calibration lines) in step; each layer's code is GPTQ's for the weights that
// best reproduce the FP32 layer's output from the input it now receives
// (quantize::compensated_weights), under that input's H. The output projection's
// statistics are taken last, with every layer quantized. One pass per layer.
// Measured on ddtp-en-de-small (docs/benchmarks.md): no better than plain GPTQ
// in BLEU, so it is off by default.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/vocabulary.h"
#include "model/weights.h"
#include "quantize/model_quantizer.h"

namespace qtool::pipeline {

// qc.hessians on entry: the FP32 model's (encoder layer 0's are kept). Fills
// qc.hessians (and qc.input_means, with bias correction) layer by layer and
// `cache` with each layer's code: quantize_model(fp32, qc, …, &cache) then
// makes the model those statistics were taken for.
void sequential_gptq(const MarianWeights& fp32, std::shared_ptr<const Vocabulary> vocab,
                     const std::vector<std::string>& lines, quantize::QuantizeConfig& qc,
                     quantize::QuantizeCache& cache, const std::string& config_file, bool progress);

}  // namespace qtool::pipeline
