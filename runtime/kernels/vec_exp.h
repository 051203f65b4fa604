// exp(x) for a vector register, Cephes' single-precision method: x = n·ln2 + r,
// a degree-6 polynomial for e^r, 2^n put in the exponent bits. Relative error
// within ~2 ulp over [-88.4, 88.4]; below that the result is 0.
// Include inside a per-ISA trait after defining the register helpers it uses.
#pragma once

template <class V>
inline typename V::reg cephes_exp(typename V::reg x) {
  using reg = typename V::reg;
  x = V::min(V::max(x, V::set1(-88.3762626647949f)), V::set1(88.3762626647949f));
  reg fx = V::floor(V::fma(x, V::set1(1.44269504088896341f), V::set1(0.5f)));
  x = V::sub(x, V::mul(fx, V::set1(0.693359375f)));
  x = V::sub(x, V::mul(fx, V::set1(-2.12194440e-4f)));
  reg y = V::set1(1.9875691500e-4f);
  y = V::fma(y, x, V::set1(1.3981999507e-3f));
  y = V::fma(y, x, V::set1(8.3334519073e-3f));
  y = V::fma(y, x, V::set1(4.1665795894e-2f));
  y = V::fma(y, x, V::set1(1.6666665459e-1f));
  y = V::fma(y, x, V::set1(5.0000001201e-1f));
  y = V::fma(y, V::mul(x, x), V::add(x, V::set1(1.0f)));
  return V::mul(y, V::pow2i(fx));
}
