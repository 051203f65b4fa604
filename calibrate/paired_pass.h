// Two models fed the same tokens in step: the FP32 model (`reference`) and a
// partly or fully quantized one (`model`), both teacher-forced on the same
// target ids. What the paired statistics of sequential GPTQ
// (input_hessians.h) and the block pairs of block reconstruction are taken from.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "runtime/model.h"

namespace qtool::calibrate {

// Encodes every batch of `sources` with `reference` then `model`, and, when
// `decode`, feeds both the decoder start then targets[i] (ids without </s>) one
// step at a time, reference first; a sentence's rows are dropped once fed. The
// observers the caller set see each call of the reference just before the same
// call of the model.
void run_paired(runtime::MarianModel& model, runtime::MarianModel& reference,
                const std::vector<std::vector<int>>& sources, const std::vector<std::vector<int>>& targets,
                int batch_size, bool decode);

// Sets both models' observers for a pass, and clears them however it ends.
struct PairedObservers {
  PairedObservers(runtime::MarianModel& model, runtime::ActivationObserver* model_observer,
                  runtime::MarianModel& reference, runtime::ActivationObserver* reference_observer)
      : model_(model), reference_(reference) {
    reference_.set_observer(reference_observer);
    model_.set_observer(model_observer);
  }
  ~PairedObservers() {
    reference_.set_observer(nullptr);
    model_.set_observer(nullptr);
  }
  PairedObservers(const PairedObservers&) = delete;
  PairedObservers& operator=(const PairedObservers&) = delete;

 private:
  runtime::MarianModel &model_, &reference_;
};

// Rows of one feed-forward sub-layer for block reconstruction: the quantized
// model's stream entering it (`in`) beside the FP32 model's stream leaving it
// (`target`) at the same token, [rows, d] row-major each.
struct BlockRows {
  int64_t d = 0, rows = 0;
  std::vector<float> in, target;
};

// Every feed-forward sub-layer's rows (by fc1's name), at most `max_rows` each:
// every k-th token, k from the number of source (encoder) or target (decoder)
// tokens, so the rows spread over all sentences. Also "lm_head": the output
// projection's input, the model's as `in` and the reference's as `target`.
std::map<std::string, BlockRows> collect_ffn_block_pairs(runtime::MarianModel& model,
                                                         runtime::MarianModel& reference,
                                                         const std::vector<std::vector<int>>& sources,
                                                         const std::vector<std::vector<int>>& targets,
                                                         int batch_size, int64_t max_rows);

}  // namespace qtool::calibrate
