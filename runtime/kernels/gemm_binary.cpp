#include "runtime/kernels/gemm_binary.h"

#include <algorithm>

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {

BinaryActivations& prepare_binary_activations(const uint8_t* A, int64_t M, int64_t lda, const BinaryCodeTensor& W) {
  thread_local BinaryActivations out;
  out.ld = (W.col_quads() + 3) / 4 * 16;  // whole steps of 4 quads for the lookup kernel
  out.groups = W.groups();
  out.q.assign(M * out.ld, 0);
  out.group_sums.assign(M * out.groups, 0);
  if (M <= 2) out.scratch.resize(2 * M * ((W.col_quads() + 1) / 2) * 64 + 64);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t g = 0; g < out.groups; ++g) {
      int32_t sum = 0;
      for (int64_t i = g * W.group_size; i < std::min(W.cols, (g + 1) * W.group_size); ++i) {
        const int32_t q = int32_t(A[m * lda + i]) - 128;
        out.q[m * out.ld + i] = int8_t(q);
        sum += q;
      }
      out.group_sums[m * out.groups + g] = sum;
    }
  return out;
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
