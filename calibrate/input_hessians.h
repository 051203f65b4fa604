// The inputs GPTQ needs without a full calibration: run the FP32 model over
// sentences (greedy, so the decoder sees its own translations, as at run time)
// and record only each linear-layer input's H = E[x xᵀ]. What `qtool search`
// and a searched plan's `qtool quantize` compute from the data the plan records
// (with E[x], for bias correction);
// the same sentences give the same H bit for bit (one batch at a time, in order).
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "calibrate/hessian_file.h"
#include "model/vocabulary.h"
#include "runtime/model.h"

namespace qtool::calibrate {

struct HessianPass {
  HessianSet hessians;
  std::map<std::string, std::vector<float>> means;  // E[x] per linear input (bias correction)
  std::vector<std::string> translations;  // the model's greedy output, one per sentence
};

HessianPass collect_hessians(runtime::MarianModel& model, std::shared_ptr<const Vocabulary> vocab,
                             const std::vector<std::string>& sentences, const std::string& model_checksum,
                             bool progress);

// Two models fed the same tokens in step (teacher forcing on `targets`, ids
// without </s>), for sequential GPTQ with error compensation: per linear input,
// H = E[x̂ x̂ᵀ] of `model`'s inputs x̂ and C = E[x x̂ᵀ] with `reference`'s input x
// at the same token (d × d row-major, C[a·d + b] = E[x_a x̂_b]), and E[x̂].
// Rows of finished sentences are dropped, not padded. Only the inputs named in
// `inputs` are summed; without a decoder input among them nothing is decoded.
struct PairedHessians {
  std::map<std::string, std::vector<float>> h, cross, means;
};
PairedHessians collect_paired_hessians(runtime::MarianModel& model, runtime::MarianModel& reference,
                                       const std::vector<std::vector<int>>& sources,
                                       const std::vector<std::vector<int>>& targets, int batch_size,
                                       const std::set<std::string>& inputs);

}  // namespace qtool::calibrate
