// NEON binary-code product by table lookup. A plane word is 16 rows × 4 columns;
// each row's 4 bits (one nibble) select a subset of the quad's 4 activations, so
// with a 16-entry table of the subset sums Σ_{c∈S} q_c per quad, one tbl looks up
// Σ q·b for all 16 rows at once. The sums span [−512, 508], so a table is kept as
// two byte tables (low and high bytes) and the two lookups are zipped back into
// s16 lanes; s16 accumulation runs for at most kChunk quads (kChunk · 512 < 2^15)
// before widening to s32. Then, as on x86, Σ q·s = 2·Σ q·b − Σ q per group.
// Base Advanced SIMD only: one kernel serves CPUs with and without dot product.
#include <arm_neon.h>

#include <algorithm>
#include <vector>

#include "runtime/kernels/gemm_binary.h"

namespace qtool::runtime {
namespace {

constexpr int64_t kChunk = 32;

// Lookup tables for every (row, quad): 16 low bytes, then 16 high bytes of the
// subset sums. Entries i < 8 use columns 0–2 (bit c of i selects column c); i ≥ 8
// add column 3.
void build_tables(const BinaryActivations& X, int64_t M, int64_t quads, std::vector<uint8_t>& tables) {
  tables.resize(M * quads * 32);
  const int16x8_t m0 = {0, 1, 0, 1, 0, 1, 0, 1}, m1 = {0, 0, 1, 1, 0, 0, 1, 1}, m2 = {0, 0, 0, 0, 1, 1, 1, 1};
  for (int64_t m = 0; m < M; ++m)
    for (int64_t qd = 0; qd < quads; ++qd) {
      const int8_t* q = X.q.data() + m * X.ld + qd * 4;
      int16x8_t lo = vmulq_n_s16(m0, q[0]);
      lo = vmlaq_n_s16(lo, m1, q[1]);
      lo = vmlaq_n_s16(lo, m2, q[2]);
      const int16x8_t hi = vaddq_s16(lo, vdupq_n_s16(q[3]));
      const uint8x16_t a = vreinterpretq_u8_s16(lo), b = vreinterpretq_u8_s16(hi);
      uint8_t* t = tables.data() + (m * quads + qd) * 32;
      vst1q_u8(t, vuzp1q_u8(a, b));       // low bytes of entries 0–15
      vst1q_u8(t + 16, vuzp2q_u8(a, b));  // high bytes
    }
}

// Lane j of register k holds row (k / 2) + 8·(k % 2) + 2·j of a block: the
// order in which a word's nibbles come out (even rows first, then odd).
inline int64_t lane_row(int k, int j) { return (k / 2) + 8 * (k % 2) + 2 * j; }

// α of block blk for every (group, plane, lane); rows past W.rows get 0.
void block_alphas(const BinaryCodeTensor& W, int64_t blk, int bits, std::vector<float>& buf) {
  const int64_t G = W.groups();
  const float* a = W.alphas_data();
  buf.resize(G * bits * 16);
  for (int64_t g = 0; g < G; ++g)
    for (int b = 0; b < bits; ++b)
      for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 4; ++j) {
          const int64_t row = blk * 16 + lane_row(k, j);
          buf[((g * bits + b) * 4 + k) * 4 + j] = row < W.rows ? a[(row * bits + b) * G + g] : 0.0f;
        }
}

// One activation row × one block of 16 weight rows. Lanes come out as the
// nibbles lie in a word: even rows 0, 2, …, 14, then odd rows 1, 3, …, 15.
template <int BITS>
void tile(const BinaryActivations& X, const uint8_t* tab, int64_t m, const BinaryCodeTensor& W, int64_t blk,
          const float* alpha, float* C, int64_t ldc) {
  const int64_t cq = W.col_quads(), qpg = W.quads_per_group();
  const uint8x8_t low4 = vdup_n_u8(0x0F);
  float32x4_t out[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
  for (int64_t g = 0; g < W.groups(); ++g) {
    const int64_t q0 = g * qpg, q1 = std::min(q0 + qpg, cq);
    int32x4_t acc[BITS][4];  // [plane][even rows 0–6, 8–14, odd rows 1–7, 9–15]
    for (int b = 0; b < BITS; ++b)
      for (int k = 0; k < 4; ++k) acc[b][k] = vdupq_n_s32(0);
    for (int64_t c0 = q0; c0 < q1; c0 += kChunk) {
      const int64_t c1 = std::min(c0 + kChunk, q1);
      int16x8_t even[BITS], odd[BITS];
      for (int b = 0; b < BITS; ++b) even[b] = odd[b] = vdupq_n_s16(0);
      const uint64_t* w = W.planes_data() + (blk * cq + c0) * BITS;
      for (int64_t qd = c0; qd < c1; ++qd, w += BITS) {
        const uint8x16_t tlo = vld1q_u8(tab + qd * 32), thi = vld1q_u8(tab + qd * 32 + 16);
        for (int b = 0; b < BITS; ++b) {
          const uint8x8_t bytes = vcreate_u8(w[b]);
          const uint8x16_t idx = vcombine_u8(vand_u8(bytes, low4), vshr_n_u8(bytes, 4));
          const uint8x16_t l = vqtbl1q_u8(tlo, idx), h = vqtbl1q_u8(thi, idx);
          even[b] = vaddq_s16(even[b], vreinterpretq_s16_u8(vzip1q_u8(l, h)));
          odd[b] = vaddq_s16(odd[b], vreinterpretq_s16_u8(vzip2q_u8(l, h)));
        }
      }
      for (int b = 0; b < BITS; ++b) {
        acc[b][0] = vaddw_s16(acc[b][0], vget_low_s16(even[b]));
        acc[b][1] = vaddw_high_s16(acc[b][1], even[b]);
        acc[b][2] = vaddw_s16(acc[b][2], vget_low_s16(odd[b]));
        acc[b][3] = vaddw_high_s16(acc[b][3], odd[b]);
      }
    }
    const int32x4_t gsum = vdupq_n_s32(X.group_sum(m, g));
    for (int b = 0; b < BITS; ++b)
      for (int k = 0; k < 4; ++k) {
        const int32x4_t dot = vsubq_s32(vshlq_n_s32(acc[b][k], 1), gsum);
        out[k] = vfmaq_f32(out[k], vld1q_f32(alpha + (g * BITS + b) * 16 + 4 * k), vcvtq_f32_s32(dot));
      }
  }
  float lanes[16];
  for (int k = 0; k < 4; ++k) vst1q_f32(lanes + 4 * k, out[k]);
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 4; ++j) {
      const int64_t r = lane_row(k, j);
      if (blk * 16 + r < W.rows) C[m * ldc + blk * 16 + r] = lanes[4 * k + j];
    }
}

template <int BITS>
void gemm_bits(const BinaryActivations& X, const std::vector<uint8_t>& tables, int64_t M, const BinaryCodeTensor& W,
               int64_t first, int64_t last, float* C, int64_t ldc) {
  const int64_t stride = W.col_quads() * 32;
  auto run = [&](int64_t blk) {
    // α of the block's rows in lane order, gathered once for all activation rows.
    thread_local std::vector<float> alpha;
    block_alphas(W, blk, BITS, alpha);
    for (int64_t m = 0; m < M; ++m) tile<BITS>(X, tables.data() + m * stride, m, W, blk, alpha.data(), C, ldc);
  };
  for (int64_t blk = first; blk < last; ++blk) run(blk);
}

void gemm_neon(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W, int64_t first, int64_t last,
               float* C, int64_t ldc) {
  const BinaryActivations& X = prepare_binary_activations(A, M, lda, W);
  thread_local std::vector<uint8_t> tables;
  build_tables(X, M, W.col_quads(), tables);
  switch (W.bits) {
    case 1: gemm_bits<1>(X, tables, M, W, first, last, C, ldc); break;
    case 2: gemm_bits<2>(X, tables, M, W, first, last, C, ldc); break;
    case 3: gemm_bits<3>(X, tables, M, W, first, last, C, ldc); break;
    case 4: gemm_bits<4>(X, tables, M, W, first, last, C, ldc); break;
  }
}

}  // namespace

const BinaryKernels* binary_kernels_neon() {
  static const BinaryKernels k{"neon_tbl", gemm_neon};
  return &k;
}

}  // namespace qtool::runtime
