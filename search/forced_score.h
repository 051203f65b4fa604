// A smooth measure of how far a quantized model is from the FP32 one: the mean
// negative log-likelihood per token of given target ids (the FP32 model's own
// greedy translations) under teacher forcing. BLEU on a few hundred dev lines
// moves by ±0.3 on its own; this moves with every change of the model, so it
// can rank small changes (one sub-layer's bits) that BLEU cannot.
#pragma once
#include <vector>

#include "runtime/model.h"

namespace qtool::search {

// sources: source ids (</s> included); targets: output ids without the start
// token or </s> (as Translator::translate_ids gives them); </s> is scored after
// each. Batches of `batch` sentences, longest targets first, run on `streams`
// threads at once (0: runtime::num_threads()); the sum is taken in batch order,
// so the result does not depend on the streams.
double forced_nll(const runtime::MarianModel& model, const std::vector<std::vector<int>>& sources,
                  const std::vector<std::vector<int>>& targets, int batch = 32, int streams = 0);

}  // namespace qtool::search
