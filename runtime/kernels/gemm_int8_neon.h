// Shared by the two NEON u8×s8 kernels (include from gemm_int8_neon*.cpp only).
// Both compute Σ q·w with q = a − 128 as s8 — NEON's integer products are
// signed×signed — and add back 128·Σw, so the result is Σ a·w exactly, for the
// signed (zero point 128) and the one-sided (zero point 0) inputs alike.
#pragma once
#include <arm_neon.h>

#include <cstring>

#include "runtime/kernels/gemm_int8.h"

namespace qtool::runtime::neon_int8 {

// Four activation bytes as q = a − 128 in every 32-bit lane.
inline int8x16_t broadcast_quad(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vdupq_n_u32(v)), vdupq_n_u8(0x80)));
}

// acc[c] holds channels nb·16 + 4c … +3 of Σ q·w; writes Σ a·w for the valid
// ones, channel j at c_row[j − col0].
inline void store_block(const int32x4_t acc[4], const PackedS8& W, int64_t nb, int32_t* c_row, int64_t col0) {
  int32_t out[16];
  for (int c = 0; c < 4; ++c) vst1q_s32(out + 4 * c, acc[c]);
  const int64_t col = nb * 16, valid = W.n - col < 16 ? W.n - col : 16;
  for (int64_t j = 0; j < valid; ++j) c_row[col - col0 + j] = out[j] + 128 * W.col_sums[col + j];
}

}  // namespace qtool::runtime::neon_int8
