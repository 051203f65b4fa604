// Block reconstruction of a quantized model (`binary_code.reconstruction`):
// the FP32 model and the quantized one are fed the same tokens (the FP32
// model's greedy translations of the calibration lines, teacher-forced); at
// every feed-forward sub-layer with a binary-coded layer, the quantized model's
// input x̂ and the FP32 model's output y are kept (quantize::BlockRows), and the
// sub-layer's α, biases and LayerNorm are fitted to map x̂ to y
// (quantize/block_reconstruction.h). With `opt.output`, the binary-coded output
// projection is then fitted to the FP32 model's next-token distributions
// (quantize/output_reconstruction.h). One pass of both models, then one fit each.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/vocabulary.h"
#include "model/weights.h"
#include "quantize/block_reconstruction.h"
#include "runtime/model.h"

namespace qtool::pipeline {

struct BlockReport {
  std::string name;  // fc1's ("model.decoder.layers.2.fc1"), or "lm_head" (errors: KL per token)
  int64_t rows = 0;
  quantize::ReconstructionResult result;
};

// `quantized`: made by quantize_model from `fp32`; its fitted sub-layers get new
// tensors (with `vectors_f16`, the fitted vectors rounded to halves).
std::vector<BlockReport> reconstruct_blocks(const MarianWeights& fp32, MarianWeights& quantized,
                                            std::shared_ptr<const Vocabulary> vocab,
                                            const std::vector<std::string>& lines,
                                            const quantize::ReconstructionOptions& opt, bool vectors_f16,
                                            bool progress);

// The FP32 model's greedy translations of `lines` as target ids (no </s>), and
// the source ids: what the paired passes feed both models.
struct TeacherTokens {
  std::vector<std::vector<int>> sources, targets;
};
TeacherTokens teacher_tokens(std::shared_ptr<const runtime::MarianModel> reference,
                             std::shared_ptr<const Vocabulary> vocab, const std::vector<std::string>& lines);

}  // namespace qtool::pipeline
