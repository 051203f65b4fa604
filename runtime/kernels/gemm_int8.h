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
  // bytes (bytes past k are 0); C: s32 rows of ldc, written at column j.
  void (*gemm_blocks)(const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int64_t nb0, int64_t nb1,
                      int32_t* C, int64_t ldc);
};

// Blocks of 16 columns per chunk of the runtime's threads (runtime/parallel.h),
// so the split depends on the product's size, not on who computes it: for each
// chunk, fn(first column, last column) runs after the chunk's product, on the
// thread that computed it (the epilogue, while C is in its cache).
template <typename Epilogue>
void gemm_u8s8_s32(const Int8Kernels& k, const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int32_t* C,
                   int64_t ldc, Epilogue&& fn);
void gemm_u8s8_s32(const Int8Kernels& k, const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int32_t* C,
                   int64_t ldc);

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
void gemm_u8s8_s32(const Int8Kernels& k, const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int32_t* C,
                   int64_t ldc, Epilogue&& fn) {
  parallel_for(W.n_blocks, int8_gemm_grain(M, W), [&](int64_t nb0, int64_t nb1) {
    k.gemm_blocks(A, M, lda, W, nb0, nb1, C, ldc);
    fn(nb0 * 16, nb1 * 16 < W.n ? nb1 * 16 : W.n);
  });
}

}  // namespace qtool::runtime
