// Bias correction for a quantized linear layer (Nagel et al. 2019, "Data-Free
// Quantization", §4.2; here with the measured input mean): the output error
// (W − Ŵ)x has mean (W − Ŵ)μ, μ = E[x], which the bias can absorb exactly:
// b' = b + (W − Ŵ)μ. What remains is (W − Ŵ)(x − μ), whose second moment is
// weighted by the centred H − μμᵀ, so GPTQ is run on that instead of H.
#pragma once
#include <vector>

#include "model/clustered_embedding.h"
#include "model/qtensor.h"

namespace qtool::quantize {

// H − μμᵀ for H [n][n] row-major, μ of n.
std::vector<float> centred_hessian(const float* hessian, const std::vector<float>& mean);

// b + (W − Ŵ)μ per output row; w [rows][cols] row-major, bias of rows (null: zeros).
std::vector<float> corrected_bias(const float* w, const BinaryCodeTensor& q, const float* bias,
                                  const std::vector<float>& mean);

// The same for a tied output projection that is a clustered embedding code:
// b_v + (e_v − ê_v)·μ for every vocabulary row v, table [rows][cols], μ = E[x]
// of the decoder's final hidden state; bias null: zeros.
std::vector<float> corrected_logits_bias(const float* table, const ClusteredBinaryEmbedding& code, const float* bias,
                                         const std::vector<float>& mean);

}  // namespace qtool::quantize
