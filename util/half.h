// IEEE 754 binary16 ("half") conversions in portable code. The .qtm stores the
// binary-code scales α as halves (format version 2): 11 significant bits are far
// finer than a 1–4-bit code's own error, and they halve the scales' share of a
// low-bit file. Conversions happen once, at quantization and load time, so no
// F16C or NEON fp16 instruction is needed.
#pragma once
#include <cstdint>
#include <cstring>

namespace qtool {

// Round to nearest, ties to even; overflow gives ±inf, NaN stays NaN.
inline uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t(x >> 16 & 0x8000u);
  const uint32_t exp = x >> 23 & 0xffu, man = x & 0x7fffffu;
  if (exp == 0xff) return uint16_t(sign | 0x7c00u | (man ? 0x200u : 0u));
  const int e = int(exp) - 127 + 15;  // the half's biased exponent
  if (e >= 31) return uint16_t(sign | 0x7c00u);
  if (e <= 0) {  // subnormal half (or zero): shift the full significand into place
    if (e < -10) return sign;
    const uint32_t m = man | 0x800000u;
    const int shift = 14 - e;
    uint32_t h = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = uint32_t(e) << 10 | man >> 13;
  const uint32_t rest = man & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: still right
  return uint16_t(sign | h);
}

inline float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = h >> 10 & 0x1fu, man = h & 0x3ffu;
  uint32_t x;
  if (exp == 0x1f) {
    x = sign | 0x7f800000u | man << 13;
  } else if (exp != 0) {
    x = sign | (exp + 127 - 15) << 23 | man << 13;
  } else if (man == 0) {
    x = sign;
  } else {  // subnormal half: exact as a float, m · 2^-24
    float f = float(man) * (1.0f / 16777216.0f);
    std::memcpy(&x, &f, 4);
    x |= sign;
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// The nearest half, as a float: what a value becomes once stored as a half.
inline float round_to_half(float f) { return half_to_float(float_to_half(f)); }

}  // namespace qtool
