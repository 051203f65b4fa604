// IEEE binary16 conversions against values worked out by hand from the format
// (1 sign, 5 exponent bits biased by 15, 10 fraction bits), and every half
// surviving the round trip.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "util/half.h"

using namespace qtool;

TEST_CASE("half: hand-encoded values") {
  CHECK(float_to_half(1.0f) == 0x3c00);   // exponent 15, fraction 0
  CHECK(float_to_half(-2.0f) == 0xc000);  // sign, exponent 16
  CHECK(float_to_half(0.5f) == 0x3800);
  CHECK(float_to_half(65504.0f) == 0x7bff);  // the largest finite half
  CHECK(float_to_half(0.0f) == 0x0000);
  CHECK(float_to_half(-0.0f) == 0x8000);
  CHECK(float_to_half(std::ldexp(1.0f, -14)) == 0x0400);  // the smallest normal
  CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);  // the smallest subnormal
  CHECK(float_to_half(std::ldexp(3.0f, -24)) == 0x0003);
  CHECK(float_to_half(std::ldexp(1.0f, -26)) == 0x0000);  // below half the smallest subnormal
}

TEST_CASE("half: round to nearest, ties to even") {
  const float ulp = std::ldexp(1.0f, -10);  // spacing of halves in [1, 2)
  CHECK(float_to_half(1.0f + ulp / 2) == 0x3c00);      // tie, 0x3c00 is even
  CHECK(float_to_half(1.0f + 3 * ulp / 2) == 0x3c02);  // tie, 0x3c01 is odd: up
  CHECK(float_to_half(1.0f + ulp * 0.51f) == 0x3c01);
  CHECK(float_to_half(1.0f + ulp * 0.49f) == 0x3c00);
  CHECK(float_to_half(2.0f - ulp / 4) == 0x4000);  // rounds up into the next binade
  CHECK(float_to_half(65519.0f) == 0x7bff);        // below the midpoint to 65536
  CHECK(float_to_half(65520.0f) == 0x7c00);        // the midpoint, ties to even = overflow
  CHECK(float_to_half(std::ldexp(1.5f, -24)) == 0x0002);  // subnormal tie, 1 is odd: up
  CHECK(float_to_half(std::ldexp(2.5f, -24)) == 0x0002);  // subnormal tie, 2 is even: stays
}

TEST_CASE("half: infinities, NaN, and every half round-trips") {
  CHECK(float_to_half(std::numeric_limits<float>::infinity()) == 0x7c00);
  CHECK(float_to_half(-1e10f) == 0xfc00);
  CHECK(std::isnan(half_to_float(float_to_half(std::nanf("")))));
  CHECK(half_to_float(0x3555) == doctest::Approx(0.333251953125));  // 1.0101010101b · 2^-2
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(0x8400) == -std::ldexp(1.0f, -14));
  int checked = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    CHECK(float_to_half(f) == h);
    ++checked;
  }
  CHECK(checked == 65536 - 2 * 1023);
  CHECK(round_to_half(0.1f) == doctest::Approx(0.1f).epsilon(1e-3));
}
