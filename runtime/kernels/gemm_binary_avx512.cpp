// AVX-512 binary-code products, two ways, chosen by the number of activation rows:
//
// - expand (batches): one masked byte move turns a plane word into 64 bytes
//   b ∈ {0, 1} in the VNNI layout; vpdpbusd adds b·q for four columns into each
//   row's s32 lane. The expansion is shared by 4 (8 for ≤ 2 bits) activation rows.
// - lookup (M = 1, and M = 2 at 2 or 4 bits): with one activation row the
//   expansion costs more than the product, so the words' nibbles (4 column signs
//   of one row) index per-quad tables of activation sums instead, 128 lookups per
//   vpshufb pair (the LUT idea of LUT-GEMM, Park et al. 2022, and T-MAC). Tables
//   hold bytes and the sums need 10 bits, so q = 16·qh + ql is split:
//   TL[n] = Σ_{c∈n} ql_c ∈ [0, 60] and TH[n] = 32 + Σ_{c∈n} qh_c ∈ [0, 60]; four
//   lookups add up in a byte, then vpmaddubsw forms L + 16·H in s16; the +32 bias
//   (512 per lookup) comes off at the end. Needs groups of whole steps (4 quads,
//   or 2 for 3–4 bits); other group sizes take the expand path.
//
// Both compute Σ q·b exactly per (row, plane, group); out += α · (2·Σq·b − Σq).
// Compiled with -mavx512f -mavx512bw -mavx512vnni; used only when CPUID reports VNNI.
// No std::vector code here: its inline functions would be instantiated with
// AVX-512 enabled, and the linker may keep that copy for the whole program.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "runtime/kernels/gemm_binary.h"

namespace qtool::runtime {
namespace {

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// acc += Σ₄ u8·s8 per s32 lane. GCC 12 copies the accumulator around every
// _mm512_dpbusd_epi32 in a loop (a zmm move per product); asm keeps it in place.
inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
  return acc;
}

inline __mmask16 valid_rows(const BinaryCodeTensor& W, int64_t blk) {
  const int64_t n = std::min<int64_t>(16, W.rows - blk * 16);
  return __mmask16((1u << n) - 1);
}

// 16×16 floats: rows in, columns out (unpack pairs, then 4×4 blocks of lanes).
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  auto lo = [](__m512 x, __m512 y) {
    return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)));
  };
  auto hi = [](__m512 x, __m512 y) {
    return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)));
  };
  __m512 s[16];  // s[4k + j], lane l: rows 4k..4k+3 of column 4l + j
  for (int k = 0; k < 16; k += 4) {
    s[k] = lo(t[k], t[k + 2]);
    s[k + 1] = hi(t[k], t[k + 2]);
    s[k + 2] = lo(t[k + 1], t[k + 3]);
    s[k + 3] = hi(t[k + 1], t[k + 3]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 x = _mm512_shuffle_f32x4(s[j], s[4 + j], 0x44);
    const __m512 y = _mm512_shuffle_f32x4(s[j], s[4 + j], 0xEE);
    const __m512 x2 = _mm512_shuffle_f32x4(s[8 + j], s[12 + j], 0x44);
    const __m512 y2 = _mm512_shuffle_f32x4(s[8 + j], s[12 + j], 0xEE);
    r[j] = _mm512_shuffle_f32x4(x, x2, 0x88);
    r[4 + j] = _mm512_shuffle_f32x4(x, x2, 0xDD);
    r[8 + j] = _mm512_shuffle_f32x4(y, y2, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(y, y2, 0xDD);
  }
}

// Whether the α of a block are few enough (16 rows × BITS·G ≤ 4 floats each) to
// be picked out of four registers with permutes instead of transposed.
inline bool few_alphas(const BinaryCodeTensor& W) { return W.bits * W.groups() <= 4; }

// With more groups, the α of one block transposed to columns of 16 rows (zero
// for missing rows): all BITS·G of them when they fit in 64 columns, else 16
// groups of every plane at a time. (Gathering them instead costs about as much
// as the products at group size 128.)
template <int BITS>
struct AlphaColumns {
  alignas(64) float col[64][16];
  int64_t g0 = -1;  // first group held; all groups when BITS·G ≤ 64
  const float* get(const BinaryCodeTensor& W, int64_t blk, int b, int64_t g) {
    const int64_t G = W.groups();
    if (BITS * G <= 64) {
      if (g0 < 0) fill(W, blk, 0, BITS * G, 0), g0 = 0;
      return col[b * G + g];
    }
    if (g0 < 0 || g >= g0 + 16) {
      for (int p = 0; p < BITS; ++p) fill(W, blk, p * G + g, std::min<int64_t>(16, G - g), 16 * p);
      g0 = g;
    }
    return col[16 * b + (g - g0)];
  }
  // Columns c0 .. c0 + n of the block's [16][BITS·G] α into col[at ..].
  // (Out of line: inlined, it spoils the register allocation of the tiles' loops.)
  __attribute__((noinline)) void fill(const BinaryCodeTensor& W, int64_t blk, int64_t c0, int64_t n, int at) {
    const int64_t width = BITS * W.groups(), rows = std::min<int64_t>(16, W.rows - blk * 16);
    const float* base = W.alphas_data() + blk * 16 * width;
    for (int64_t c = 0; c < n; c += 16) {
      const __mmask16 cols = __mmask16((1u << std::min<int64_t>(16, n - c)) - 1);
      __m512 r[16];
      for (int64_t i = 0; i < 16; ++i)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(cols, base + i * width + c0 + c) : _mm512_setzero_ps();
      transpose16(r);
      for (int k = 0; k < 16 && c + k < n; ++k) _mm512_store_ps(col[at + c + k], r[k]);
    }
  }
};

// α[o][b][g] of the 16 rows of one block, lane i holding row blk·16 + rows[i].
template <int BITS>
struct BlockAlphas {
  __m512 v[BITS];
  BlockAlphas(const BinaryCodeTensor& W, int64_t blk, int64_t g, __m512i rows, __mmask16 valid_lanes,
              AlphaColumns<BITS>& columns) {
    const int64_t G = W.groups();
    if (!few_alphas(W)) {
      for (int b = 0; b < BITS; ++b)
        v[b] = _mm512_permutexvar_ps(rows, _mm512_load_ps(columns.get(W, blk, b, g)));
      return;
    }
    // The block's α are 16·n ≤ 64 consecutive floats; row ρ, column c is element ρ·n + c.
    const int n = int(BITS * G);
    const float* base = W.alphas_data() + blk * 16 * n;
    const int64_t present = std::min<int64_t>(16, W.rows - blk * 16) * n;
    __m512 src[4];
    for (int k = 0; k < 4; ++k) {
      const int64_t m = std::clamp<int64_t>(present - 16 * k, 0, 16);
      src[k] = k < n ? _mm512_maskz_loadu_ps(__mmask16((1u << m) - 1), base + 16 * k) : _mm512_setzero_ps();
    }
    for (int b = 0; b < BITS; ++b) {
      const __m512i idx =
          _mm512_add_epi32(_mm512_mullo_epi32(rows, _mm512_set1_epi32(n)), _mm512_set1_epi32(int(b * G + g)));
      __m512 a = _mm512_permutex2var_ps(src[0], idx, src[1]);
      if (n > 2)  // indices ≥ 32 come from the third and fourth registers
        a = _mm512_mask_blend_ps(_mm512_cmpge_epi32_mask(idx, _mm512_set1_epi32(32)), a,
                                 _mm512_permutex2var_ps(src[2], idx, src[3]));
      v[b] = _mm512_maskz_mov_ps(valid_lanes, a);
    }
  }
};

// ---- expand: R activation rows × one row block, all BITS planes ----

template <int BITS, int R>
void expand_tile(const BinaryActivations& X, int64_t m0, const BinaryCodeTensor& W, int64_t blk, float* C,
                 int64_t ldc) {
  AlphaColumns<BITS> columns;
  const int64_t cq = W.col_quads(), qpg = W.quads_per_group(), G = W.groups();
  const __m512i ones = _mm512_set1_epi8(1);
  const __mmask16 valid = valid_rows(W, blk);
  __m512 out[R];
  for (int r = 0; r < R; ++r) out[r] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; ++g) {
    const int64_t q0 = g * qpg, q1 = std::min(q0 + qpg, cq);
    __m512i acc[R][BITS];
    for (int r = 0; r < R; ++r)
      for (int b = 0; b < BITS; ++b) acc[r][b] = _mm512_setzero_si512();
    const uint64_t* w = W.planes_data() + (blk * cq + q0) * BITS;
    const int8_t* x = X.q.data() + m0 * X.ld + q0 * 4;
    for (int64_t q = q0; q < q1; ++q, w += BITS, x += 4) {
      __m512i a[R];
      for (int r = 0; r < R; ++r) a[r] = broadcast4(x + r * X.ld);
      for (int b = 0; b < BITS; ++b) {
        const __m512i e = _mm512_maskz_mov_epi8(w[b], ones);
        for (int r = 0; r < R; ++r) acc[r][b] = dpbusd(acc[r][b], e, a[r]);
      }
    }
    const __m512i rows = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const BlockAlphas<BITS> alpha(W, blk, g, rows, valid, columns);
    for (int b = 0; b < BITS; ++b)
      for (int r = 0; r < R; ++r) {
        const __m512i dot =
            _mm512_sub_epi32(_mm512_slli_epi32(acc[r][b], 1), _mm512_set1_epi32(X.group_sum(m0 + r, g)));
        out[r] = _mm512_fmadd_ps(alpha.v[b], _mm512_cvtepi32_ps(dot), out[r]);
      }
  }
  for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(C + (m0 + r) * ldc + blk * 16, valid, out[r]);
}

template <int BITS>
void expand_rows(const BinaryActivations& X, int64_t m0, int64_t R, const BinaryCodeTensor& W, int64_t blk, float* C,
                 int64_t ldc) {
  switch (R) {
    case 1: expand_tile<BITS, 1>(X, m0, W, blk, C, ldc); break;
    case 2: expand_tile<BITS, 2>(X, m0, W, blk, C, ldc); break;
    case 3: expand_tile<BITS, 3>(X, m0, W, blk, C, ldc); break;
    case 4: expand_tile<BITS, 4>(X, m0, W, blk, C, ldc); break;
    default:
      if constexpr (BITS <= 2) expand_tile<BITS, 8>(X, m0, W, blk, C, ldc);
      break;
  }
}

// ---- lookup: one step = one 64-byte load of plane words = 4 lanes × 2 word slots ----

template <int BITS>
struct Step {
  static constexpr int quads = BITS <= 2 ? 4 : 2;          // quads per step; a lane holds one quad
  static constexpr int lanes_per_plane = BITS <= 2 ? 4 : 2;
  // Which of the 8 word slots hold words (1 and 3 bits leave one slot per lane empty).
  static constexpr __mmask8 slots = BITS == 1 ? 0x55 : BITS == 3 ? 0x77 : 0xff;
  static constexpr int words = quads * BITS;
  static int lane_quad(int lane) { return quads == 4 ? lane : lane / 2; }
};

// The n ≤ words plane words of a step, in their slots (empty slots and missing
// words read as 0, whose lookups add only the bias). Masked loads never touch
// memory past the n words; vpexpandq would do the same in one instruction but
// is slow on Zen 4.
template <int BITS>
inline __m512i load_step(const uint64_t* w, int n) {
  using S = Step<BITS>;
  if (S::slots == 0xff && n == S::words) return _mm512_loadu_si512(w);
  const __m512i v = _mm512_maskz_loadu_epi64(__mmask8((1u << n) - 1), w);
  if (S::slots == 0xff) return v;
  // 1 bit: words 0–3 to slots 0, 2, 4, 6; 3 bits: words 0–5 to slots 0, 1, 2, 4, 5, 6.
  const __m512i to_slots =
      BITS == 1 ? _mm512_set_epi64(0, 3, 0, 2, 0, 1, 0, 0) : _mm512_set_epi64(0, 5, 4, 3, 0, 2, 1, 0);
  return _mm512_maskz_permutexvar_epi64(S::slots, to_slots, v);
}

// TL and TH of every step's 4 lanes for one activation row (q padded with zeros
// to whole steps): 64 bytes each per step.
template <int BITS>
void build_tables(const int8_t* q, int64_t steps, uint8_t* tl, uint8_t* th) {
  using S = Step<BITS>;
  __m512i select[4], low_if[4];  // per column c: lane's byte 4·quad + c; 0x0F where bit c of n
  alignas(64) int8_t sel[64], msk[64], bias[64];
  for (int c = 0; c < 4; ++c) {
    for (int i = 0; i < 64; ++i) {
      sel[i] = int8_t(4 * S::lane_quad(i / 16) + c);
      msk[i] = (i % 16) >> c & 1 ? 0x0F : 0;
    }
    select[c] = _mm512_load_si512(sel);
    low_if[c] = _mm512_load_si512(msk);
  }
  for (int i = 0; i < 64; ++i) bias[i] = int8_t(32 - 8 * __builtin_popcount(i % 16));
  const __m512i th0 = _mm512_load_si512(bias), eight = _mm512_set1_epi8(8);
  for (int64_t s = 0; s < steps; ++s) {
    const int8_t* src = q + s * S::quads * 4;
    const __m128i* p = reinterpret_cast<const __m128i*>(src);
    const __m512i x = _mm512_broadcast_i32x4(S::quads == 4 ? _mm_loadu_si128(p) : _mm_loadl_epi64(p));
    __m512i L = _mm512_setzero_si512(), H = th0;
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_shuffle_epi8(x, select[c]);  // q of column c of the lane's quad
      L = _mm512_add_epi8(L, _mm512_and_si512(v, low_if[c]));
      // qh + 8 = (high nibble) ^ 8, and Σ(qh + 8) + 32 − 8·popcount(n) = 32 + Σqh
      // (th0 holds 32 − 8·popcount(n)). Ternary 0x28: (A ^ B) & C.
      H = _mm512_add_epi8(H, _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), eight, low_if[c], 0x28));
    }
    _mm512_store_si512(tl + s * 64, L);
    _mm512_store_si512(th + s * 64, H);
  }
}

// TL and TH of every activation row: [M][steps][64] bytes each, in the
// caller's scratch (see BinaryActivations), 64-byte aligned.
struct LutTables {
  int64_t steps = 0;
  uint8_t* lo = nullptr;
  uint8_t* hi = nullptr;
  LutTables(BinaryActivations& X, int64_t M, int64_t n_steps) : steps(n_steps) {
    lo = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(X.scratch.data()) + 63) & ~uintptr_t(63));
    hi = lo + M * steps * 64;
  }
  uint8_t* L(int64_t m) const { return lo + m * steps * 64; }
  uint8_t* H(int64_t m) const { return hi + m * steps * 64; }
};

// u16 [lane 0..3][j 0..7] → s32 [lanes 0+2 | lanes 1+3][j].
inline __m512i lane_pair_sums(__m512i x) {
  return _mm512_add_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(x)),
                          _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(x, 1)));
}

// R = 1 or 2 activation rows × one row block. Lookups on the low nibbles give
// the even rows, on the high nibbles the odd rows; sums are kept in the row
// order π = (0, 2, …, 14, 1, 3, …, 15) and put back in order at the store.
template <int BITS, int R>
void lookup_tile(const LutTables& T, const BinaryActivations& X, int64_t m0, const BinaryCodeTensor& W, int64_t blk,
                 float* C, int64_t ldc) {
  AlphaColumns<BITS> columns;
  using S = Step<BITS>;
  const int64_t cq = W.col_quads(), G = W.groups(), steps = T.steps;
  const int64_t group_steps = G == 1 ? steps : W.quads_per_group() / S::quads;
  const uint64_t* words = W.planes_data() + blk * cq * BITS;
  const __m512i nibble = _mm512_set1_epi8(0x0F), l_h16 = _mm512_set1_epi16(0x1001);  // (1, 16) byte pairs
  const __m512i pi_rows = _mm512_set_epi32(15, 13, 11, 9, 7, 5, 3, 1, 14, 12, 10, 8, 6, 4, 2, 0);
  const __mmask16 valid = valid_rows(W, blk);
  const int64_t n_rows = std::min<int64_t>(16, W.rows - blk * 16);
  const __mmask16 valid_pi = _mm512_cmplt_epi32_mask(pi_rows, _mm512_set1_epi32(int32_t(n_rows)));
  const int64_t full_quads = cq - cq % S::quads;  // steps before this are whole
  const int tail_words = int((cq - full_quads) * BITS);
  const uint8_t *tl_base[R], *th_base[R];
  for (int r = 0; r < R; ++r) tl_base[r] = T.L(m0 + r), th_base[r] = T.H(m0 + r);
  __m512 out[R];
  for (int r = 0; r < R; ++r) out[r] = _mm512_setzero_ps();

  for (int64_t g = 0; g < G; ++g) {
    const int64_t s0 = g * group_steps, s1 = std::min(s0 + group_steps, steps);
    __m512i acc[R][BITS];  // s32, π order, with the lookup bias
    for (int r = 0; r < R; ++r)
      for (int b = 0; b < BITS; ++b) acc[r][b] = _mm512_setzero_si512();
    for (int64_t c0 = s0; c0 < s1; c0 += 32) {  // 8 folds of ≤ 4080 fit in u16
      const int64_t c1 = std::min(c0 + 32, s1);
      __m512i a16[R][2][2];  // [row][nibble p][slot h]: u16 L + 16·H per (lane, byte j)
      for (int r = 0; r < R; ++r)
        for (int p = 0; p < 2; ++p) a16[r][p][0] = a16[r][p][1] = _mm512_setzero_si512();
      for (int64_t f0 = c0; f0 < c1; f0 += 4) {  // 4 lookups of ≤ 60 fit in a byte
        __m512i aL[R][2], aH[R][2];
        for (int r = 0; r < R; ++r) aL[r][0] = aL[r][1] = aH[r][0] = aH[r][1] = _mm512_setzero_si512();
        auto step = [&](int64_t s, int n_words) __attribute__((always_inline)) {
          const __m512i v = load_step<BITS>(words + s * S::words, n_words);
          const __m512i lo = _mm512_and_si512(v, nibble), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
          for (int r = 0; r < R; ++r) {
            const __m512i tl = _mm512_load_si512(tl_base[r] + s * 64), th = _mm512_load_si512(th_base[r] + s * 64);
            aL[r][0] = _mm512_add_epi8(aL[r][0], _mm512_shuffle_epi8(tl, lo));
            aL[r][1] = _mm512_add_epi8(aL[r][1], _mm512_shuffle_epi8(tl, hi));
            aH[r][0] = _mm512_add_epi8(aH[r][0], _mm512_shuffle_epi8(th, lo));
            aH[r][1] = _mm512_add_epi8(aH[r][1], _mm512_shuffle_epi8(th, hi));
          }
        };
        if (f0 + 4 <= c1 && (f0 + 4) * S::quads <= full_quads) {
          for (int u = 0; u < 4; ++u) step(f0 + u, S::words);  // the common case, unrolled
        } else {
          for (int64_t s = f0; s < std::min(f0 + 4, c1); ++s)
            step(s, s * S::quads < full_quads ? S::words : tail_words);
        }
        for (int r = 0; r < R; ++r)
          for (int p = 0; p < 2; ++p) {
            a16[r][p][0] = _mm512_add_epi16(a16[r][p][0],
                                            _mm512_maddubs_epi16(_mm512_unpacklo_epi8(aL[r][p], aH[r][p]), l_h16));
            a16[r][p][1] = _mm512_add_epi16(a16[r][p][1],
                                            _mm512_maddubs_epi16(_mm512_unpackhi_epi8(aL[r][p], aH[r][p]), l_h16));
          }
      }
      // Slot h of lane L holds plane: 1–2 bits: h; 3 bits: h (even L), 2 (odd L, h = 0); 4 bits: 2·(L % 2) + h.
      for (int r = 0; r < R; ++r)
        for (int h = 0; h < (BITS == 1 ? 1 : 2); ++h) {
          const __m512i e = lane_pair_sums(a16[r][0][h]), o = lane_pair_sums(a16[r][1][h]);
          const __m512i even_lanes = _mm512_shuffle_i64x2(e, o, _MM_SHUFFLE(1, 0, 1, 0));  // π order
          const __m512i odd_lanes = _mm512_shuffle_i64x2(e, o, _MM_SHUFFLE(3, 2, 3, 2));
          if (BITS <= 2) {
            acc[r][h] = _mm512_add_epi32(acc[r][h], _mm512_add_epi32(even_lanes, odd_lanes));
          } else {
            acc[r][h] = _mm512_add_epi32(acc[r][h], even_lanes);
            const int b = BITS == 4 ? 2 + h : 2;  // 3 bits: slot (odd lane, 1) is empty
            if (BITS == 4 || h == 0) acc[r][b] = _mm512_add_epi32(acc[r][b], odd_lanes);
          }
        }
    }
    const __m512i bias = _mm512_set1_epi32(int32_t(512 * (s1 - s0) * S::lanes_per_plane));
    const BlockAlphas<BITS> alpha(W, blk, g, pi_rows, valid_pi, columns);
    for (int b = 0; b < BITS; ++b)
      for (int r = 0; r < R; ++r) {
        const __m512i sum = _mm512_sub_epi32(acc[r][b], bias);
        const __m512i dot = _mm512_sub_epi32(_mm512_slli_epi32(sum, 1), _mm512_set1_epi32(X.group_sum(m0 + r, g)));
        out[r] = _mm512_fmadd_ps(alpha.v[b], _mm512_cvtepi32_ps(dot), out[r]);
      }
  }
  // Lane i of out is row π(i); row k sits at lane (k % 2)·8 + k / 2.
  const __m512i unpi = _mm512_set_epi32(15, 7, 14, 6, 13, 5, 12, 4, 11, 3, 10, 2, 9, 1, 8, 0);
  for (int r = 0; r < R; ++r)
    _mm512_mask_storeu_ps(C + (m0 + r) * ldc + blk * 16, valid, _mm512_permutexvar_ps(unpi, out[r]));
}

template <int BITS>
void gemm_bits(BinaryActivations& X, int64_t M, const BinaryCodeTensor& W, int64_t first, int64_t last, float* C,
               int64_t ldc) {
  using S = Step<BITS>;
  // Lookups win at M = 1, and at M = 2 when they fill both word slots (2 or 4
  // bits); measured on Zen 4.
  const bool lookup = (M == 1 || (M == 2 && BITS % 2 == 0)) &&
                      (W.groups() == 1 || W.quads_per_group() % S::quads == 0);
  const LutTables T(X, M, (W.col_quads() + S::quads - 1) / S::quads);
  // Tables already built on this thread for this generation (these rows, these
  // planes) are kept.
  thread_local uint64_t tables_of = 0;
  if (lookup && tables_of != X.generation) {
    for (int64_t m = 0; m < M; ++m)
      build_tables<BITS>(X.q.data() + m * X.ld, T.steps, T.L(m), T.H(m));
    tables_of = X.generation;
  }
  auto run = [&](int64_t blk) {
    if (lookup && M == 1) {
      lookup_tile<BITS, 1>(T, X, 0, W, blk, C, ldc);
    } else if (lookup) {
      lookup_tile<BITS, 2>(T, X, 0, W, blk, C, ldc);
    } else {
      for (int64_t m = 0, R = 0; m < M; m += R) {
        // 8 rows share each expanded word when the accumulators fit (≤ 2 bits).
        R = BITS <= 2 && M - m >= 8 ? 8 : std::min<int64_t>(4, M - m);
        expand_rows<BITS>(X, m, R, W, blk, C, ldc);
      }
    }
  };
  for (int64_t blk = first; blk < last; ++blk) run(blk);
}

void gemm_avx512(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W, int64_t first, int64_t last,
                 float* C, int64_t ldc) {
  BinaryActivations& X = prepare_binary_activations(A, M, lda, W);
  switch (W.bits) {
    case 1: gemm_bits<1>(X, M, W, first, last, C, ldc); break;
    case 2: gemm_bits<2>(X, M, W, first, last, C, ldc); break;
    case 3: gemm_bits<3>(X, M, W, first, last, C, ldc); break;
    case 4: gemm_bits<4>(X, M, W, first, last, C, ldc); break;
  }
}

}  // namespace

const BinaryKernels* binary_kernels_avx512() {
  static const BinaryKernels k{"avx512_vnni", gemm_avx512};
  return &k;
}

}  // namespace qtool::runtime
