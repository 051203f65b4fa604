// AArch64 feature detection from the kernel's HWCAP bits (user space cannot read
// the ID registers portably). Advanced SIMD is part of the base architecture;
// the dot-product instructions (sdot/udot) are optional from ARMv8.2.
#include <asm/hwcap.h>
#include <sys/auxv.h>

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  const unsigned long hw = getauxval(AT_HWCAP);
  f.neon = hw & HWCAP_ASIMD;
  f.dotprod = f.neon && (hw & HWCAP_ASIMDDP);
  if (f.dotprod) f.isa = Isa::neon_dotprod;
  else if (f.neon) f.isa = Isa::neon;
  return f;
}

std::string cpu_extension_names(const CpuFeatures& f) {
  std::string s;
  if (f.neon) s += " asimd";
  if (f.dotprod) s += " asimddp";
  return s;
}

}  // namespace qtool::runtime
