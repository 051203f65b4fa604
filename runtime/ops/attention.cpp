#include "runtime/ops/attention.h"

#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {

void attend_head(HeadView q, HeadView k, HeadView v, int64_t n_queries, int64_t n_keys,
                 int64_t head_dim, bool causal, float* ctx, int64_t ctx_stride, float* scratch) {
  const VecOps& ops = vec_ops();
  const int64_t offset = n_keys - n_queries;
  for (int64_t i = 0; i < n_queries; ++i) {
    const int64_t visible = causal ? i + offset + 1 : n_keys;
    const float* qi = q.data + i * q.stride;
    for (int64_t j = 0; j < visible; ++j) scratch[j] = ops.dot(qi, k.data + j * k.stride, head_dim);
    ops.softmax(scratch, visible);
    float* out = ctx + i * ctx_stride;
    for (int64_t c = 0; c < head_dim; ++c) out[c] = 0.0f;
    for (int64_t j = 0; j < visible; ++j) ops.axpy(scratch[j], v.data + j * v.stride, out, head_dim);
  }
}

}  // namespace qtool::runtime
