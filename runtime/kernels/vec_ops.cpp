#include "runtime/kernels/vec_ops.h"

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {

// Which tables exist is a per-architecture choice made here and in CMake.
const VecOps& vec_ops() {
  static const VecOps& chosen = [] () -> const VecOps& {
    switch (cpu_features().isa) {
#if defined(__aarch64__)
      case Isa::neon_dotprod:
      case Isa::neon: return *vec_ops_neon();
#else
      case Isa::avx512: return *vec_ops_avx512();
      case Isa::avx2: return *vec_ops_avx2();
#endif
      default: break;
    }
    return vec_ops_ref();
  }();
  return chosen;
}

std::vector<const VecOps*> vec_ops_runnable() {
  const CpuFeatures f = detect_cpu_features();
  std::vector<const VecOps*> t = {&vec_ops_ref()};
#if defined(__aarch64__)
  if (f.neon) t.push_back(vec_ops_neon());
#else
  if (f.avx2 && f.fma) t.push_back(vec_ops_avx2());
  if (f.avx512f && f.avx512bw && f.avx512vl && f.fma) t.push_back(vec_ops_avx512());
#endif
  return t;
}

}  // namespace qtool::runtime
