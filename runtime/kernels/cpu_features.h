// What the CPU can do, read once at start-up (CPUID on x86-64, the kernel's
// HWCAP bits on AArch64). QTOOL_ISA forces a lower level — scalar|avx2|avx512 on
// x86, scalar|neon|neon_dotprod on ARM — to reproduce "it translates differently
// on that machine" or to run the fallback kernels on a CPU that has more.
#pragma once
#include <string>

namespace qtool::runtime {

// Levels are ordered within one architecture: forcing only ever goes down.
enum class Isa { scalar = 0, avx2 = 1, avx512 = 2, neon = 3, neon_dotprod = 4 };

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false;
  bool amx_int8 = false;
  bool neon = false, dotprod = false;  // AArch64 Advanced SIMD; ARMv8.2 sdot/udot
  Isa isa = Isa::scalar;  // the level kernels are chosen for
};

const CpuFeatures& cpu_features();
const char* isa_name(Isa isa);
// One line for logs and `qtool bench`: chosen ISA, detected extensions, GEMM backend.
std::string kernel_description();

// Per architecture (cpu_features_<arch>.cpp): what the hardware reports, before
// QTOOL_ISA is applied, and the extension names for kernel_description().
CpuFeatures detect_cpu_features();
std::string cpu_extension_names(const CpuFeatures& f);

}  // namespace qtool::runtime
