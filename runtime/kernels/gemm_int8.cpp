#include "runtime/kernels/gemm_int8.h"

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {

PackedS8 pack_s8(const int8_t* w, int64_t n, int64_t k) {
  PackedS8 p;
  p.n = n;
  p.k = k;
  p.n_blocks = (n + 15) / 16;
  p.k_quads = (k + 3) / 4;
  p.data.assign(p.n_blocks * p.k_quads * 64, 0);
  p.col_sums.assign(n, 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < k; ++i) {
      const int8_t v = w[j * k + i];
      p.data[((j / 16) * p.k_quads + i / 4) * 64 + (j % 16) * 4 + i % 4] = v;
      p.col_sums[j] += v;
    }
  return p;
}

void gemm_u8s8_s32(const Int8Kernels& k, const uint8_t* A, int64_t M, int64_t lda, const PackedS8& W, int32_t* C,
                   int64_t ldc) {
  parallel_for(W.n_blocks, int8_gemm_grain(M, W), [&](int64_t nb0, int64_t nb1) {
    k.gemm_blocks(A, M, lda, W, nb0, nb1, C + nb0 * 16, ldc);
  });
}

// Which kernels exist is a per-architecture choice made here and in CMake.
const Int8Kernels& int8_kernels() {
  static const Int8Kernels& chosen = []() -> const Int8Kernels& {
    const CpuFeatures& f = cpu_features();
#if defined(__aarch64__)
    if (f.isa == Isa::neon_dotprod) return *int8_kernels_neon_dotprod();
    if (f.isa == Isa::neon) return *int8_kernels_neon();
#else
    if (f.isa == Isa::avx512 && f.avx512_vnni) return *int8_kernels_avx512_vnni();
    if (f.isa >= Isa::avx2) return *int8_kernels_avx2();
#endif
    return int8_kernels_ref();
  }();
  return chosen;
}

std::vector<const Int8Kernels*> int8_kernels_runnable() {
  const CpuFeatures f = detect_cpu_features();
  std::vector<const Int8Kernels*> k = {&int8_kernels_ref()};
#if defined(__aarch64__)
  if (f.neon) k.push_back(int8_kernels_neon());
  if (f.dotprod) k.push_back(int8_kernels_neon_dotprod());
#else
  if (f.avx2) k.push_back(int8_kernels_avx2());
  if (f.avx512f && f.avx512bw && f.avx512_vnni) k.push_back(int8_kernels_avx512_vnni());
#endif
  return k;
}

}  // namespace qtool::runtime
