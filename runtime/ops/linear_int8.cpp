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
  for (const LinearWeights& p : parts) {
    for (int64_t r = 0; r < p.int8->rows; ++r) weight_scale_.push_back(p.int8->scale(r));
    bias_.insert(bias_.end(), p.bias->data.begin(), p.bias->data.end());
  }
  if (parts.size() == 1) {  // packed from the tensor itself: no third copy of a 58k-row output projection
    packed_ = pack_s8(parts[0].int8->values.data(), out, in);
  } else {
    std::vector<int8_t> values;
    values.reserve(out * in);
    for (const LinearWeights& p : parts) values.insert(values.end(), p.int8->values.begin(), p.int8->values.end());
    packed_ = pack_s8(values.data(), out, in);
  }
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
  a.resize(rows * lda);
  acc.resize(rows * N);
  row_scale.resize(rows);
  const VecOps& ops = vec_ops();
  uint8_t* a_rows = a.data();
  float* scales = row_scale.data();
  parallel_for(rows, chunk_grain(rows, K, int64_t(1) << 14), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      std::memset(a_rows + r * lda + K, 0, lda - K);  // the last quad's padding: the kernels read it
      if (asymmetric_) {
        ops.quantize_u8_affine(x + r * K, K, input_scale_, zero_point_, a_rows + r * lda);
        scales[r] = input_scale_;
      } else {
        scales[r] = ops.quantize_u8(x + r * K, K, input_scale_, a_rows + r * lda);
      }
    }
  });
  // Σ (q+z)·w = Σ q·w + z·Σw: the compensation comes off before scaling, and
  // the bias and activation are applied in the same pass, per chunk of columns.
  const int32_t zero = zero_point_;
  const VecAct act = vec_act(activation);
  int32_t* C = acc.data();
  gemm_u8s8_s32(int8_kernels(), a_rows, rows, lda, packed_, C, N, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < rows; ++r)
      ops.dequantize_s32(C + r * N + c0, packed_.col_sums.data() + c0, zero, scales[r], weight_scale_.data() + c0,
                         bias_.data() + c0, act, c1 - c0, y + r * N + c0);
  });
}

}  // namespace qtool::runtime
