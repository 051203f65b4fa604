// What the CPU can do, read once with CPUID at start-up. QTOOL_ISA=scalar|avx2|avx512
// forces a lower level (to reproduce "it translates differently on that machine").
#pragma once
#include <string>

namespace qtool::runtime {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false;
  bool amx_int8 = false;
  Isa isa = Isa::scalar;  // the level kernels are chosen for
};

const CpuFeatures& cpu_features();
const char* isa_name(Isa isa);
// One line for logs and `qtool bench`: chosen ISA, detected extensions, GEMM backend.
std::string kernel_description();

}  // namespace qtool::runtime
