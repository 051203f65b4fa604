#include "runtime/ops/linear_int8.h"

#include <cmath>
#include <cstring>
#include <limits>

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

// The activations as u8 rows of lda bytes (the kernels read whole quads) and
// each row's scale, in this thread's buffers.
LinearInt8::QuantizedRows LinearInt8::quantize_rows(const float* x, int64_t rows) const {
  const int64_t K = packed_.k, lda = packed_.k_quads * 4;
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> row_scale;
  a.resize(rows * lda);
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
  return {a_rows, lda, scales};
}

void LinearInt8::forward(const float* x, int64_t rows, float* y) const {
  observe(x, rows);
  const QuantizedRows q = quantize_rows(x, rows);
  const int64_t N = packed_.n;
  // Σ (q+z)·w = Σ q·w + z·Σw: the compensation comes off before scaling, and
  // the bias and activation are applied in the same pass, per span of columns.
  const VecOps& ops = vec_ops();
  const VecAct act = vec_act(activation);
  gemm_u8s8_s32(int8_kernels(), q.a, rows, q.lda, packed_, [&](int64_t c0, int64_t c1, const int32_t* acc, int64_t ld) {
    for (int64_t r = 0; r < rows; ++r)
      ops.dequantize_s32(acc + r * ld, packed_.col_sums.data() + c0, zero_point_, q.scales[r],
                         weight_scale_.data() + c0, bias_.data() + c0, act, c1 - c0, y + r * N + c0);
  });
}

void LinearInt8::forward_argmax(const float* x, int64_t rows, const std::vector<int>& masked, int* best) const {
  observe(x, rows);
  const QuantizedRows q = quantize_rows(x, rows);
  const int64_t blocks = packed_.n_blocks;
  // Each span's best per row, in the slot of its first block: the outputs stay
  // in the span's L1 buffer, and the slots, read in column order with a strict
  // >, give the first index of the row's maximum as one argmax over the row.
  struct Candidate {
    float value;
    int index;
  };
  thread_local std::vector<Candidate> slot_buf;
  thread_local std::vector<uint8_t> used_buf;
  slot_buf.resize(rows * blocks);
  used_buf.assign(blocks, 0);
  // Pointers, not the thread_local names: in the lambda those would be the worker's own.
  Candidate* slots = slot_buf.data();
  uint8_t* used = used_buf.data();
  const VecOps& ops = vec_ops();
  const VecAct act = vec_act(activation);
  gemm_u8s8_s32(int8_kernels(), q.a, rows, q.lda, packed_, [&](int64_t c0, int64_t c1, const int32_t* acc, int64_t ld) {
    thread_local std::vector<float> span;  // the running thread's
    span.resize(c1 - c0);
    for (int64_t r = 0; r < rows; ++r) {
      ops.dequantize_s32(acc + r * ld, packed_.col_sums.data() + c0, zero_point_, q.scales[r],
                         weight_scale_.data() + c0, bias_.data() + c0, act, c1 - c0, span.data());
      for (int id : masked)
        if (id >= c0 && id < c1) span[id - c0] = -std::numeric_limits<float>::infinity();
      const int64_t i = ops.argmax(span.data(), c1 - c0);
      slots[r * blocks + c0 / 16] = {span[i], int(c0 + i)};
    }
    used[c0 / 16] = 1;
  });
  for (int64_t r = 0; r < rows; ++r) {
    bool first = true;
    Candidate b{};
    for (int64_t s = 0; s < blocks; ++s)
      if (used[s] && (first || slots[r * blocks + s].value > b.value)) b = slots[r * blocks + s], first = false;
    best[r] = b.index;
  }
}

}  // namespace qtool::runtime
