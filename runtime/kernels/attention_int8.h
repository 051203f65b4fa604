// u8 × s8 → s32 kernels for attention over int8 keys and values (INT8 models).
//
// One head's keys K [n, head_dim] and values V [n, head_dim] are stored as s8
// with one scale per time step, in layouts made for vpdpbusd (4 u8 × 4 s8 into
// one s32 lane, 16 lanes per instruction), so no product needs a horizontal sum:
//  - K in blocks of 16 time steps × 4 dims: one 64-byte load holds 16 keys'
//    next 4 dims, multiplied by the same 4 query bytes → 16 scores at once.
//  - V in quads of 4 time steps × all dims: one 64-byte load holds 16 dims of
//    4 steps, multiplied by the same 4 probability bytes → 16 outputs at once.
// The query is u8 with the +128 offset (scores are corrected with each key's
// Σ k, kept beside its scale); the probabilities are u8 ≥ 0 with V's per-step
// scale folded in. ops/attention_int8 does the quantizing and the softmax.
#pragma once
#include <cstdint>
#include <vector>

namespace qtool::runtime {

// The byte layout of one head's int8 keys and values for up to `capacity` steps.
struct Int8HeadLayout {
  int64_t head_dim = 0;
  int64_t d_quads = 0;  // ⌈head_dim/4⌉: K's 4-dim groups (dims past head_dim are 0)
  int64_t v_dims = 0;   // head_dim rounded up to 16: V's row width (dims past head_dim are 0)
  explicit Int8HeadLayout(int64_t hd = 0) : head_dim(hd), d_quads((hd + 3) / 4), v_dims((hd + 15) / 16 * 16) {}
  // K: [⌈capacity/16⌉][d_quads][16][4]; step t, dim d at k_offset(t, d).
  int64_t k_bytes(int64_t capacity) const { return (capacity + 15) / 16 * d_quads * 64; }
  int64_t k_offset(int64_t t, int64_t d) const { return ((t / 16) * d_quads + d / 4) * 64 + (t % 16) * 4 + d % 4; }
  // V: [⌈capacity/4⌉][v_dims][4]; step t, dim d at v_offset(t, d).
  int64_t v_bytes(int64_t capacity) const { return (capacity + 3) / 4 * v_dims * 4; }
  int64_t v_offset(int64_t t, int64_t d) const { return ((t / 4) * v_dims + d) * 4 + t % 4; }
};

struct AttentionInt8Kernels {
  const char* name;
  // s[j] = Σ_d q[d] · K[j, d] for j < n. q: 4·d_quads u8; K in the layout above.
  void (*scores)(const uint8_t* q, const int8_t* K, int64_t d_quads, int64_t n, int32_t* s);
  // o[d] = Σ_j p[j] · V[j, d] for d < v_dims. p: 4·⌈n/4⌉ u8, 0 past n (V's bytes
  // there may be anything).
  void (*context)(const uint8_t* p, const int8_t* V, int64_t v_dims, int64_t n, int32_t* o);
  // Symmetric s8 of one key or value row: s = max|x| / 127 (1 for a zero row),
  // out = round-half-even(x · (1/s)) clamped to ±127; writes Σ out to *sum;
  // returns s. Every level gives the same bytes (one product, one rounding).
  float (*quantize_s8)(const float* x, int64_t n, int8_t* out, int32_t* sum);
};

const AttentionInt8Kernels& attention_int8_kernels();  // chosen once by CPUID (QTOOL_ISA to force lower)
const AttentionInt8Kernels& attention_int8_kernels_ref();
const AttentionInt8Kernels* attention_int8_kernels_avx2();         // x86-64 only
const AttentionInt8Kernels* attention_int8_kernels_avx512_vnni();  // x86-64 only
// Every kernel this CPU can run (QTOOL_ISA aside), the reference first.
std::vector<const AttentionInt8Kernels*> attention_int8_kernels_runnable();

}  // namespace qtool::runtime
