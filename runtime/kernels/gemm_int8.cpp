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

const Int8Kernels& int8_kernels() {
  static const Int8Kernels& chosen = []() -> const Int8Kernels& {
    const CpuFeatures& f = cpu_features();
    if (f.isa == Isa::avx512 && f.avx512_vnni) return *int8_kernels_avx512_vnni();
    if (f.isa >= Isa::avx2) return *int8_kernels_avx2();
    return int8_kernels_ref();
  }();
  return chosen;
}

}  // namespace qtool::runtime
