#include "runtime/ops/attention.h"

#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {

void attend_head(HeadView q, HeadView k, HeadView v, int64_t n_queries, int64_t n_keys,
                 int64_t head_dim, bool causal, float* ctx, int64_t ctx_stride, float* scratch,
                 float* probs) {
  const VecOps& ops = vec_ops();
  const int64_t offset = n_keys - n_queries;
  for (int64_t i = 0; i < n_queries; ++i) {
    const int64_t visible = causal ? i + offset + 1 : n_keys;
    const float* qi = q.data + i * q.stride;
    ops.dot_rows(qi, k.data, k.stride, visible, head_dim, scratch);
    ops.softmax(scratch, visible);
    if (probs)
      for (int64_t j = 0; j < visible; ++j) probs[i * n_keys + j] = scratch[j];
    ops.weighted_sum_rows(scratch, v.data, v.stride, visible, head_dim, ctx + i * ctx_stride);
  }
}

}  // namespace qtool::runtime
