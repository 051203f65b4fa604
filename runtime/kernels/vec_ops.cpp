#include "runtime/kernels/vec_ops.h"

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {

const VecOps& vec_ops() {
  static const VecOps& chosen = [] () -> const VecOps& {
    switch (cpu_features().isa) {
      case Isa::avx512: return *vec_ops_avx512();
      case Isa::avx2: return *vec_ops_avx2();
      case Isa::scalar: break;
    }
    return vec_ops_ref();
  }();
  return chosen;
}

}  // namespace qtool::runtime
