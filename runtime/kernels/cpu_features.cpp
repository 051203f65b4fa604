#include "runtime/kernels/cpu_features.h"

#include <cstdlib>
#include <cstring>

#include "runtime/kernels/attention_int8.h"
#include "runtime/kernels/gemm.h"
#include "runtime/kernels/vec_ops.h"

namespace qtool::runtime {
namespace {

CpuFeatures detect() {
  CpuFeatures f = detect_cpu_features();
  if (const char* forced = std::getenv("QTOOL_ISA")) {
    Isa want = f.isa;
    for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon, Isa::neon_dotprod})
      if (!std::strcmp(forced, isa_name(i))) want = i;
    // Never above what the CPU has, never another architecture's level.
    const bool same_arch = want == Isa::scalar || (want >= Isa::neon) == (f.isa >= Isa::neon);
    if (same_arch && want < f.isa) f.isa = want;
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
    case Isa::neon_dotprod: return "neon_dotprod";
  }
  return "?";
}

std::string kernel_description() {
  return std::string("row kernels: ") + vec_ops().isa + "; cpu:" + cpu_extension_names(cpu_features()) +
         "; fp32 gemm: " + gemm_f32_backend() +
         "; int8 attention: " + attention_int8_kernels().name;
}

}  // namespace qtool::runtime
