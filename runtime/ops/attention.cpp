#include "runtime/ops/attention.h"

#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Dense>

#include "runtime/ops/elementwise.h"

namespace qtool::runtime {
namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstView = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
using View = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
}  // namespace

void attend_head(HeadView q, HeadView k, HeadView v, int64_t n_queries, int64_t n_keys,
                 int64_t head_dim, bool causal, float* ctx, int64_t ctx_stride, float* scratch) {
  ConstView K(k.data, n_keys, head_dim, Eigen::OuterStride<>(k.stride));
  ConstView V(v.data, n_keys, head_dim, Eigen::OuterStride<>(v.stride));
  const int64_t offset = n_keys - n_queries;
  for (int64_t i = 0; i < n_queries; ++i) {
    const int64_t visible = causal ? i + offset + 1 : n_keys;
    Eigen::Map<const Eigen::VectorXf> qi(q.data + i * q.stride, head_dim);
    Eigen::Map<Eigen::VectorXf> s(scratch, visible);
    s.noalias() = K.topRows(visible) * qi;
    softmax(scratch, visible);
    Eigen::Map<Eigen::VectorXf> out(ctx + i * ctx_stride, head_dim);
    out.noalias() = V.topRows(visible).transpose() * s;
  }
}

}  // namespace qtool::runtime
