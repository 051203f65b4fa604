// Output reconstruction: the binary-coded output projection fitted to the FP32
// model's next-token distribution. GPTQ fits the logits' squared error over the
// whole vocabulary, where a few hundred candidates per step matter and the rest
// are far below them; here, with the signs fixed, the α of every vocabulary row
// (a tied embedding's clusters, or the projection's own code) are fitted by Adam
// to minimise KL(p ‖ p̂), p = softmax(h W + b) of the FP32 model at its own
// hidden state h, p̂ = softmax(ĥ Ŵ + b) of the quantized model at ĥ, the same
// token. A tied embedding's input role gets the same α. The iterate with the
// lowest KL on held-out rows (every 8th) is kept, the start included.
#pragma once
#include <cstdint>
#include <memory>

#include "model/clustered_embedding.h"
#include "model/tensor.h"
#include "quantize/block_reconstruction.h"

namespace qtool::quantize {

struct OutputFit {
  std::shared_ptr<const ClusteredBinaryEmbedding> clustered;  // set when the code is a clustered table
  std::shared_ptr<const BinaryCodeTensor> binary;             // else the projection's own code
  ReconstructionResult result;  // errors: KL(p ‖ p̂) in nats per token, held-out rows
};

// weight [vocab, d] and bias [vocab] (null: zeros): the FP32 projection;
// h_ref, h_q [rows, d]: the FP32 and the quantized model's inputs to it. Exactly
// one of `clustered`, `binary` is set. Returns the fitted copy; the given code
// is not written.
OutputFit reconstruct_output(const Tensor& weight, const float* bias,
                             const std::shared_ptr<const ClusteredBinaryEmbedding>& clustered,
                             const std::shared_ptr<const BinaryCodeTensor>& binary, const float* h_ref,
                             const float* h_q, int64_t rows, const ReconstructionOptions& opt);

}  // namespace qtool::quantize
