// u8 × s8 → s32 matrix products for INT8 linear layers.
//
// Weights are packed once into the layout of AVX-512 VNNI's vpdpbusd: blocks of
// 16 output channels × 4 consecutive input bytes, so one 64-byte load feeds 16
// accumulators with four products each. Activations are unsigned: a signed
// activation q ∈ [−127, 127] is fed as q + 128, and the 128·Σw term is removed
// afterwards with the per-channel sums kept here (the u8·s8 compensation).
// The same layout feeds ARMv8.2's sdot by element: one 16-byte load holds 4
// channels × 4 bytes, multiplied by the 4 activation bytes of one lane.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/parallel.h"

namespace qtool::runtime {

struct PackedS8 {
  int64_t n = 0, k = 0;            // logical [n, k] = [out, in]
  int64_t n_blocks = 0, k_quads = 0;  // ⌈n/16⌉, ⌈k/4⌉
  std::vector<int8_t> data;        // [n_blocks][k_quads][16][4], zero padded
  std::vector<int32_t> col_sums;   // Σ_k w[n][k], for the +128 compensation
};

// w: row-major [n, k] int8.
PackedS8 pack_s8(const int8_t* w, int64_t n, int64_t k);

struct Int8Kernels {
  const char* name;
  // C[m, j] = Σ_k A[m, k] · W[j, k] for m < M and the columns j of blocks
  // [nb0, nb1) (16 each, the last cut at W.n). A: u8 rows of lda ≥ 4·k_quads
  // bytes (bytes past k are 0); C: s32 rows of ldc from column 16·nb0 on, so
  // column j is written at C[m·ldc + j − 16·nb0].
  void (*gemm_blocks)(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1,
                      int32_t* C, int64_t ldc);
};

// Blocks of 16 columns per chunk of the runtime's threads (runtime/parallel.h),
// so the split depends on the product's size, not on who computes it. Each
// chunk runs in spans of int8_epilogue_blocks(M) blocks; after each span's
// product, on the thread that computed it, fn(c0, c1, acc, ld) gets columns
// [c0, c1) of it: acc[m·ld + j − c0], in that thread's buffer of ≤ 16 KiB (one
// span's results, still in L1; a whole product's s32 results are never held).
template <typename Epilogue>
void gemm_u8s8_s32(const Int8Kernels& k, const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, Epilogue&& fn);
// C [M, ldc] = the whole product.
void gemm_u8s8_s32(const Int8Kernels& k, const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int32_t* C,
                   int64_t ldc);

// Column blocks per epilogue span: an even count (the kernels pair blocks) whose
// M × 16 s32 results fill about 16 KiB.
inline int64_t int8_epilogue_blocks(int64_t M) {
  const int64_t blocks = (int64_t(16384) / (64 * (M > 0 ? M : 1))) & ~int64_t(1);
  return blocks > 2 ? blocks : 2;
}

const Int8Kernels& int8_kernels();  // chosen once by CPUID (QTOOL_ISA to force lower)
const Int8Kernels& int8_kernels_ref();
const Int8Kernels* int8_kernels_avx2();
const Int8Kernels* int8_kernels_avx512_vnni();
const Int8Kernels* int8_kernels_neon();          // smull + sadalp, any AArch64
const Int8Kernels* int8_kernels_neon_dotprod();  // sdot (ARMv8.2 dot product)
// Every kernel this CPU can run (QTOOL_ISA aside), the reference first.
std::vector<const Int8Kernels*> int8_kernels_runnable();

// A chunk of ≥ 2^17 multiply-adds (~0.5 µs with VNNI): smaller ones cost more to hand over.
inline int64_t int8_gemm_grain(int64_t M, const PackedS8& W) {
  return chunk_grain(W.n_blocks, M * 16 * W.k_quads * 4, int64_t(1) << 17, 2);
}

template <typename Epilogue>
void gemm_u8s8_s32(const Int8Kernels& k, const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, Epilogue&& fn) {
  const int64_t span = int8_epilogue_blocks(M);
  parallel_for(W.n_blocks, int8_gemm_grain(M, W), [&](int64_t nb0, int64_t nb1) {
    thread_local std::vector<int32_t> buffer;  // the running thread's (this body runs on the members)
    buffer.resize(M * span * 16);
    for (int64_t b0 = nb0; b0 < nb1; b0 += span) {
      const int64_t b1 = b0 + span < nb1 ? b0 + span : nb1, ld = (b1 - b0) * 16;
      k.gemm_blocks(A, M, lda, W, b0, b1, buffer.data(), ld);
      fn(b0 * 16, b1 * 16 < W.n ? b1 * 16 : W.n, static_cast<const int32_t*>(buffer.data()), ld);
    }
  });
}

}  // namespace qtool::runtime
