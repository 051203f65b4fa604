// Scaled dot-product attention on per-head slices of row-major buffers.
// Queries are already scaled by 1/sqrt(head_dim), as Hugging Face does to q.
#pragma once
#include <cstdint>

namespace qtool::runtime {

struct HeadView {
  const float* data;  // first row of this head's slice
  int64_t stride;     // floats between consecutive positions
};

// ctx[i, :] = softmax(q_i · Kᵀ) · V for i < n_queries over n_keys keys.
// `scratch` holds at least n_keys floats. `causal`: query i sees keys ≤ i + (n_keys - n_queries).
// `probs` (calibration only, may be null): query i's softmax row is copied to
// probs + i·n_keys (its visible keys).
void attend_head(HeadView q, HeadView k, HeadView v, int64_t n_queries, int64_t n_keys,
                 int64_t head_dim, bool causal, float* ctx, int64_t ctx_stride, float* scratch,
                 float* probs = nullptr);

}  // namespace qtool::runtime
