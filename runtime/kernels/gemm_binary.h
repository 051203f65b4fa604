// Binary-code weights × u8 activations (the products of binary-code linear layers).
//
//   C[m, o] = Σ_b Σ_g α[o][b][g] · Σ_{i∈g} q[m, i] · s_b[o, i],  q = A[m, i] − 128
//
// Activations arrive as in the INT8 path: quantized per row to u8 a = q + 128
// (vec_ops().quantize_u8); the per-row activation scale is applied by the caller.
// The weights stay packed (model/qtensor.h): one 64-bit word per 16 rows × 4
// columns × plane. The SIMD kernels compute Σ q·b exactly in s32, b ∈ {0, 1} the
// stored bits, either by expanding words to bytes for vpdpbusd / vpmaddubsw or
// (AVX-512, one or two activation rows) by looking the words' nibbles up in tables
// of activation sums; since s = 2b − 1,
//   Σ q·s = 2·Σ q·b − Σ q,
// so the only extra is Σq per (activation row, group), and nothing is kept beside
// the weights. Only the final α scaling is floating point.
#pragma once
#include <cstdint>
#include <vector>

#include "model/qtensor.h"
#include "runtime/parallel.h"

namespace qtool::runtime {

struct BinaryKernels {
  const char* name;
  // The output columns of W's 16-row blocks [first, last), on the calling thread
  // (it prepares its own activations: nothing crosses cores but A and C).
  // A: M rows of lda ≥ W.cols u8; bytes past W.cols are never read. C: M rows of
  // ldc floats; only columns 16·first .. min(16·last, W.rows) are written.
  void (*gemm_blocks)(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W, int64_t first,
                      int64_t last, float* C, int64_t ldc);
};

const BinaryKernels& binary_kernels();  // chosen once by CPUID (QTOOL_ISA to force lower)
const BinaryKernels& binary_kernels_ref();
const BinaryKernels* binary_kernels_avx2();
const BinaryKernels* binary_kernels_avx512();  // AVX-512 F+BW+VNNI (vpdpbusd)
const BinaryKernels* binary_kernels_neon();    // tbl lookups of activation sums, any AArch64
// Every kernel this CPU can run (QTOOL_ISA aside), the reference first.
std::vector<const BinaryKernels*> binary_kernels_runnable();

// What the SIMD kernels read instead of A: q = a − 128 as s8 in rows of ld ≥
// 4·col_quads bytes, a multiple of 16 (zero past cols, so whole quads and steps
// of 4 quads can be loaded), and Σq per (row, group). One per calling thread,
// reused across calls; all its memory is allocated here, in baseline code.
struct BinaryActivations {
  int64_t ld = 0, groups = 0;
  std::vector<int8_t> q;             // [M][ld]
  std::vector<int32_t> group_sums;   // [M][groups]
  std::vector<uint8_t> scratch;      // M ≤ 2: room for the AVX-512 lookup tables (2·M·⌈col_quads/2⌉·64 B)
  // Bumped whenever q changes. A product's chunks call a kernel once per part
  // (q, k and v are three) and per chunk with the same rows: at M ≤ 2, where
  // preparing (and building lookup tables) was 9% of a batch-1 step, rows equal
  // by content to the last ones (not by pointer: callers reuse their buffers),
  // with the same layout and planes, are kept, and so are tables built for this generation.
  uint64_t generation = 0;
  std::vector<uint8_t> rows_of;      // M ≤ 2: the rows q was made from, W.cols bytes each
  int64_t m_of = -1, group_size_of = 0, bits_of = 0;  // the lookup tables depend on the planes too
  int32_t group_sum(int64_t m, int64_t g) const { return group_sums[m * groups + g]; }
};
BinaryActivations& prepare_binary_activations(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W);

// The whole product C = A·Wᵀ (as above, all W.rows columns), its row blocks the
// chunks of the runtime's threads (runtime/parallel.h), as the linear layers
// split theirs. Every block is computed the same way on whichever thread takes it.
void binary_gemm(const BinaryKernels& k, const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W,
                 float* C, int64_t ldc);

}  // namespace qtool::runtime
