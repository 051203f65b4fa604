// Attention over int8 keys and values, for models whose linear layers are INT8
// (MarianModel chooses it; QTOOL_ATTENTION=fp32 keeps FP32 attention).
//
// Keys and values are quantized when written, per time step and head, with a
// dynamic scale (max|x| / 127): no calibration, nothing model-specific. A query
// is quantized the same way and fed as u8 (q + 128); the scores are
//   q·k_j ≈ s_q · s_j · (Σ_d (q_d + 128)·k_jd − 128·Σ_d k_jd).
// The softmax is FP32. V's per-step scale is folded into the probabilities
// before they are quantized (w_j = p_j · s_j ≥ 0 as u8 with one scale s_w):
//   ctx_d ≈ s_w · Σ_j w_j·v_jd,
// so the context is one s32 product and one scale per output row.
// Kernels: kernels/attention_int8.h.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/attention_int8.h"

namespace qtool::runtime {

// The int8 keys and values of `units` heads (a decoder's (row, head) pairs, or a
// batch's (sentence, head) pairs), each for up to `capacity` steps.
class Int8KVCache {
 public:
  Int8KVCache() = default;
  Int8KVCache(int64_t units, int64_t head_dim, int64_t capacity);

  int64_t units() const { return units_; }
  int64_t capacity() const { return capacity_; }
  const Int8HeadLayout& layout() const { return layout_; }

  // Quantizes step t of unit u: k and v are head_dim floats.
  void store(int64_t u, int64_t t, const float* k, const float* v);
  // Room for `capacity` steps, keeping the first `used` of each unit.
  void grow(int64_t capacity, int64_t used);
  // Unit i becomes the old units [from[i]·group, from[i]·group + group) → i·group…
  // (beam reordering of rows with `group` heads each), keeping `used` steps.
  void select(const std::vector<int64_t>& from, int64_t group, int64_t used);

  const int8_t* k(int64_t u) const { return k_.data() + u * k_unit_; }
  const int8_t* v(int64_t u) const { return v_.data() + u * v_unit_; }
  const float* k_scale(int64_t u) const { return k_scale_.data() + u * capacity_; }
  const int32_t* k_sum(int64_t u) const { return k_sum_.data() + u * capacity_; }
  const float* v_scale(int64_t u) const { return v_scale_.data() + u * capacity_; }

 private:
  int64_t units_ = 0, capacity_ = 0, k_unit_ = 0, v_unit_ = 0;  // bytes per unit
  Int8HeadLayout layout_;
  std::vector<int8_t> k_, v_;
  std::vector<float> k_scale_, v_scale_;
  std::vector<int32_t> k_sum_;
};

// ctx[0, head_dim) = softmax(q · Kᵀ) · V over the first n_keys steps of unit u
// (one query; q already scaled by 1/sqrt(head_dim)).
void attend_head_int8(const float* q, const Int8KVCache& kv, int64_t u, int64_t n_keys, float* ctx);

}  // namespace qtool::runtime
