#include "runtime/kernels/gemm_binary.h"

#include <algorithm>
#include <cstring>

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {

BinaryActivations& prepare_binary_activations(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W) {
  thread_local BinaryActivations out;
  const int64_t cols = W.cols;
  if (M <= 2 && M == out.m_of && W.group_size == out.group_size_of && W.bits == out.bits_of &&
      static_cast<int64_t>(out.rows_of.size()) == M * cols) {
    bool same = true;
    for (int64_t m = 0; m < M && same; ++m)
      same = std::memcmp(out.rows_of.data() + m * cols, A + m * lda, static_cast<size_t>(cols)) == 0;
    if (same) return out;
  }
  ++out.generation;
  out.m_of = M <= 2 ? M : -1;
  out.group_size_of = W.group_size;
  out.bits_of = W.bits;
  out.rows_of.resize(M <= 2 ? static_cast<size_t>(M * cols) : 0);
  for (int64_t m = 0; m < M && M <= 2; ++m)
    std::memcpy(out.rows_of.data() + m * cols, A + m * lda, static_cast<size_t>(cols));
  out.ld = (W.col_quads() + 3) / 4 * 16;  // whole steps of 4 quads for the lookup kernel
  out.groups = W.groups();
  out.q.resize(M * out.ld);
  out.group_sums.resize(M * out.groups);
  if (M <= 2) out.scratch.resize(2 * M * ((W.col_quads() + 1) / 2) * 64 + 64);
  // Plain loops the compiler vectorizes (this runs before every product); the
  // bounds are locals because an int8_t store may alias W.cols.
  const int64_t ld = out.ld, groups = out.groups, gs = W.group_size;
  for (int64_t m = 0; m < M; ++m) {
    const uint8_t* a = A + m * lda;
    int8_t* q = out.q.data() + m * ld;
    for (int64_t i = 0; i < cols; ++i) q[i] = int8_t(a[i] ^ 0x80);  // a − 128
    std::fill(q + cols, q + ld, int8_t(0));
    int32_t* sums = out.group_sums.data() + m * groups;
    for (int64_t g = 0; g < groups; ++g) {
      int32_t sum = 0;
      for (int64_t i = g * gs, end = std::min(cols, (g + 1) * gs); i < end; ++i) sum += q[i];
      sums[g] = sum;
    }
  }
  return out;
}

void binary_gemm(const BinaryKernels& k, const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W,
                 float* C, int64_t ldc) {
  // ≥ 2^18 bit products per chunk: each prepares its own activations, about a block's work.
  const int64_t grain = chunk_grain(W.row_blocks(), M * 16 * W.cols * W.bits, int64_t(1) << 18);
  parallel_for(W.row_blocks(), grain, [&](int64_t first, int64_t last) {
    k.gemm_blocks(A, M, lda, W, first, last, C, ldc);
  });
}

// Which kernels exist is a per-architecture choice made here and in CMake.
const BinaryKernels& binary_kernels() {
  static const BinaryKernels& chosen = []() -> const BinaryKernels& {
    const CpuFeatures& f = cpu_features();
#if defined(__aarch64__)
    if (f.isa >= Isa::neon) return *binary_kernels_neon();
#else
    if (f.isa == Isa::avx512 && f.avx512_vnni) return *binary_kernels_avx512();
    if (f.isa >= Isa::avx2) return *binary_kernels_avx2();
#endif
    return binary_kernels_ref();
  }();
  return chosen;
}

std::vector<const BinaryKernels*> binary_kernels_runnable() {
  const CpuFeatures f = detect_cpu_features();
  std::vector<const BinaryKernels*> k = {&binary_kernels_ref()};
#if defined(__aarch64__)
  if (f.neon) k.push_back(binary_kernels_neon());
#else
  if (f.avx2) k.push_back(binary_kernels_avx2());
  if (f.avx512f && f.avx512bw && f.avx512_vnni) k.push_back(binary_kernels_avx512());
#endif
  return k;
}

}  // namespace qtool::runtime
