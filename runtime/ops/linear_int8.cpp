#include "runtime/ops/linear_int8.h"

#include <cmath>
#include <cstring>

#include "runtime/kernels/vec_ops.h"
#include "runtime/ops/elementwise.h"

namespace qtool::runtime {

LinearInt8::LinearInt8(const std::vector<LinearWeights>& parts) {
  const int64_t in = parts.at(0).int8->cols;
  int64_t out = 0;
  for (const LinearWeights& p : parts) out += p.int8->rows;
  std::vector<int8_t> values;
  values.reserve(out * in);
  for (const LinearWeights& p : parts) {
    values.insert(values.end(), p.int8->values.begin(), p.int8->values.end());
    for (int64_t r = 0; r < p.int8->rows; ++r) weight_scale_.push_back(p.int8->scale(r));
    bias_.insert(bias_.end(), p.bias->data.begin(), p.bias->data.end());
  }
  packed_ = pack_s8(values.data(), out, in);
  set_input(parts[0].input);
}

void LinearInt8::set_input(const CalibratedInput& in) {
  input_scale_ = in.threshold > 0.0f ? in.scale() : 0.0f;
  asymmetric_ = in.threshold > 0.0f && in.asymmetric;
  zero_point_ = asymmetric_ ? in.zero_point : 128;
}

void LinearInt8::forward(const float* x, int64_t rows, float* y) const {
  observe(x, rows);
  const int64_t K = packed_.k, N = packed_.n, lda = packed_.k_quads * 4;
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<int32_t> acc;
  thread_local std::vector<float> row_scale;
  a.assign(rows * lda, 0);
  acc.resize(rows * N);
  row_scale.resize(rows);
  const VecOps& ops = vec_ops();
  for (int64_t r = 0; r < rows; ++r) {
    if (asymmetric_) {
      ops.quantize_u8_affine(x + r * K, K, input_scale_, zero_point_, a.data() + r * lda);
      row_scale[r] = input_scale_;
    } else {
      row_scale[r] = ops.quantize_u8(x + r * K, K, input_scale_, a.data() + r * lda);
    }
  }
  int8_kernels().gemm_u8s8_s32(a.data(), rows, lda, packed_, acc.data(), N);
  // Σ (q+z)·w = Σ q·w + z·Σw: the compensation comes off before scaling, and
  // the bias and activation are applied in the same pass.
  const int32_t zero = zero_point_;
  const VecAct act = vec_act(activation);
  for (int64_t r = 0; r < rows; ++r)
    ops.dequantize_s32(acc.data() + r * N, packed_.col_sums.data(), zero, row_scale[r], weight_scale_.data(),
                       bias_.data(), act, N, y + r * N);
}

}  // namespace qtool::runtime
