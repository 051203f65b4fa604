// x86-64 feature detection: CPUID leaves 1 and 7, with XGETBV to check that the
// OS saves the wider registers.
#include <cpuid.h>

#include <cstdint>

#include "runtime/kernels/cpu_features.h"

namespace qtool::runtime {
namespace {

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & bit_OSXSAVE;
  const bool has_fma = c & bit_FMA;
  if (!osxsave) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;
  const bool zmm_os = (xcr0 & 0xe6) == 0xe6;
  const bool amx_os = (xcr0 & (3ull << 17)) == (3ull << 17);
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = ymm_os && (b & bit_AVX2);
  f.fma = ymm_os && has_fma;
  f.avx512f = zmm_os && (b & bit_AVX512F);
  f.avx512bw = zmm_os && (b & bit_AVX512BW);
  f.avx512vl = zmm_os && (b & bit_AVX512VL);
  f.avx512_vnni = zmm_os && (c & bit_AVX512VNNI);
  f.amx_int8 = amx_os && (d & (1u << 25));
  if (f.avx512f && f.avx512bw && f.avx512vl && f.fma) f.isa = Isa::avx512;
  else if (f.avx2 && f.fma) f.isa = Isa::avx2;
  return f;
}

std::string cpu_extension_names(const CpuFeatures& f) {
  std::string s;
  if (f.avx2) s += " avx2";
  if (f.avx512f) s += " avx512";
  if (f.avx512_vnni) s += " avx512_vnni";
  if (f.amx_int8) s += " amx_int8";
  return s;
}

}  // namespace qtool::runtime
