#include "runtime/kernels/attention_int8.h"

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {

// Which kernels exist is a per-architecture choice made here and in CMake; on
// AArch64 the reference runs (no NEON version yet).
const AttentionInt8Kernels& attention_int8_kernels() {
  static const AttentionInt8Kernels& chosen = []() -> const AttentionInt8Kernels& {
#if !defined(__aarch64__)
    const CpuFeatures& f = cpu_features();
    if (f.isa == Isa::avx512 && f.avx512_vnni) return *attention_int8_kernels_avx512_vnni();
    if (f.isa >= Isa::avx2) return *attention_int8_kernels_avx2();
#endif
    return attention_int8_kernels_ref();
  }();
  return chosen;
}

std::vector<const AttentionInt8Kernels*> attention_int8_kernels_runnable() {
  std::vector<const AttentionInt8Kernels*> k = {&attention_int8_kernels_ref()};
#if !defined(__aarch64__)
  const CpuFeatures f = detect_cpu_features();
  if (f.avx2) k.push_back(attention_int8_kernels_avx2());
  if (f.avx512f && f.avx512bw && f.avx512_vnni) k.push_back(attention_int8_kernels_avx512_vnni());
#endif
  return k;
}

}  // namespace qtool::runtime
