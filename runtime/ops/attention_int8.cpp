#include "runtime/ops/attention_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {

Int8KVCache::Int8KVCache(int64_t units, int64_t head_dim, int64_t capacity)
    : units_(units), layout_(head_dim) {
  grow(capacity, 0);
}

void Int8KVCache::store(int64_t u, int64_t t, const float* k, const float* v) {
  const int64_t hd = layout_.head_dim;
  const AttentionInt8Kernels& kern = attention_int8_kernels();
  thread_local std::vector<int8_t> k8, v8;
  k8.assign(layout_.d_quads * 4, 0), v8.resize(hd);
  int32_t v_sum;
  k_scale_[u * capacity_ + t] = kern.quantize_s8(k, hd, k8.data(), &k_sum_[u * capacity_ + t]);
  v_scale_[u * capacity_ + t] = kern.quantize_s8(v, hd, v8.data(), &v_sum);
  // K: step t's 4-dim groups, 64 bytes apart in its 16-step block.
  int8_t* K = k_.data() + u * k_unit_ + layout_.k_offset(t, 0);
  for (int64_t g = 0; g < layout_.d_quads; ++g) std::memcpy(K + g * 64, k8.data() + g * 4, 4);
  // V: step t's dims, 4 bytes apart in its 4-step quad.
  int8_t* V = v_.data() + u * v_unit_ + layout_.v_offset(t, 0);
  for (int64_t d = 0; d < hd; ++d) V[d * 4] = v8[d];
}

void Int8KVCache::grow(int64_t capacity, int64_t used) {
  capacity = (capacity + 15) / 16 * 16;  // whole K blocks (and V quads)
  if (capacity <= capacity_) return;
  const int64_t k_unit = layout_.k_bytes(capacity), v_unit = layout_.v_bytes(capacity);
  // Both layouts put earlier steps first, so a unit's used steps are a prefix.
  const int64_t k_used = used ? layout_.k_bytes(used) : 0, v_used = used ? layout_.v_bytes(used) : 0;
  std::vector<int8_t> k(units_ * k_unit, 0), v(units_ * v_unit, 0);
  std::vector<float> ks(units_ * capacity, 0.0f), vs(units_ * capacity, 0.0f);
  std::vector<int32_t> sums(units_ * capacity, 0);
  if (used > 0)
    for (int64_t u = 0; u < units_; ++u) {
      std::memcpy(k.data() + u * k_unit, k_.data() + u * k_unit_, k_used);
      std::memcpy(v.data() + u * v_unit, v_.data() + u * v_unit_, v_used);
      std::memcpy(ks.data() + u * capacity, k_scale_.data() + u * capacity_, used * sizeof(float));
      std::memcpy(vs.data() + u * capacity, v_scale_.data() + u * capacity_, used * sizeof(float));
      std::memcpy(sums.data() + u * capacity, k_sum_.data() + u * capacity_, used * sizeof(int32_t));
    }
  k_.swap(k), v_.swap(v), k_scale_.swap(ks), v_scale_.swap(vs), k_sum_.swap(sums);
  capacity_ = capacity, k_unit_ = k_unit, v_unit_ = v_unit;
}

void Int8KVCache::select(const std::vector<int64_t>& from, int64_t group, int64_t used) {
  Int8KVCache picked(static_cast<int64_t>(from.size()) * group, layout_.head_dim, capacity_);
  if (used > 0)
    for (size_t i = 0; i < from.size(); ++i)
      for (int64_t h = 0; h < group; ++h) {
        const int64_t src = from[i] * group + h, dst = static_cast<int64_t>(i) * group + h;
        std::memcpy(picked.k_.data() + dst * k_unit_, k_.data() + src * k_unit_, layout_.k_bytes(used));
        std::memcpy(picked.v_.data() + dst * v_unit_, v_.data() + src * v_unit_, layout_.v_bytes(used));
        std::memcpy(picked.k_scale_.data() + dst * capacity_, k_scale_.data() + src * capacity_, used * sizeof(float));
        std::memcpy(picked.v_scale_.data() + dst * capacity_, v_scale_.data() + src * capacity_, used * sizeof(float));
        std::memcpy(picked.k_sum_.data() + dst * capacity_, k_sum_.data() + src * capacity_, used * sizeof(int32_t));
      }
  *this = std::move(picked);
}

namespace {

// Per-thread buffers of attend_head_int8, grown only.
struct Scratch {
  std::vector<uint8_t> q8, p8;
  std::vector<int32_t> acc;
  std::vector<float> p;
  void reserve(const Int8HeadLayout& L, int64_t n_keys) {
    if (static_cast<int64_t>(q8.size()) < L.d_quads * 4) q8.assign(L.d_quads * 4, 128);  // padding meets zero keys
    const int64_t n16 = (n_keys + 15) / 16 * 16;
    if (static_cast<int64_t>(acc.size()) < std::max(n16, L.v_dims)) acc.resize(std::max(n16, L.v_dims));
    if (static_cast<int64_t>(p.size()) < n16) p.resize(n16), p8.resize(n16);
  }
};

}  // namespace

void attend_head_int8(const float* q, const Int8KVCache& kv, int64_t u, int64_t n_keys, float* ctx) {
  const AttentionInt8Kernels& kern = attention_int8_kernels();
  const VecOps& ops = vec_ops();
  const Int8HeadLayout& L = kv.layout();
  thread_local Scratch scratch;
  scratch.reserve(L, n_keys);
  // Raw pointers: the loops below then vectorize (no reloads through the vectors).
  uint8_t* const q8 = scratch.q8.data();
  uint8_t* const p8 = scratch.p8.data();
  int32_t* const acc = scratch.acc.data();
  float* const p = scratch.p.data();

  // Scores: u8 query (q + 128), corrected by each key's Σ k.
  const float sq = ops.quantize_u8(q, L.head_dim, 0.0f, q8);
  kern.scores(q8, kv.k(u), L.d_quads, n_keys, acc);
  const float* ks = kv.k_scale(u);
  const int32_t* sums = kv.k_sum(u);
  for (int64_t j = 0; j < n_keys; ++j) p[j] = sq * ks[j] * static_cast<float>(acc[j] - 128 * sums[j]);
  ops.softmax(p, n_keys);

  // Context: w_j = p_j · s_j as u8 over [0, max w]; w/s_w ≤ 255 up to one
  // rounding, so rounding half up (truncating w/s_w + 0.5) needs no clamp.
  const float* vs = kv.v_scale(u);
  for (int64_t j = 0; j < n_keys; ++j) p[j] *= vs[j];
  const float wmax = p[ops.argmax(p, n_keys)];
  const float sw = wmax > 0.0f ? wmax / 255.0f : 1.0f, inv = 1.0f / sw;
  for (int64_t j = 0; j < n_keys; ++j) p8[j] = static_cast<uint8_t>(static_cast<int32_t>(p[j] * inv + 0.5f));
  for (int64_t j = n_keys; j < (n_keys + 3) / 4 * 4; ++j) p8[j] = 0;
  kern.context(p8, kv.v(u), L.v_dims, n_keys, acc);
  for (int64_t d = 0; d < L.head_dim; ++d) ctx[d] = sw * static_cast<float>(acc[d]);
}

}  // namespace qtool::runtime
