// Integer attention: each SIMD kernel against the scalar reference on the
// packed layouts (bit-exact), and attend_head_int8 against FP32 attention
// within a stated tolerance.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include "runtime/kernels/attention_int8.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/attention_int8.h"

using namespace qtool::runtime;

namespace {

const int kHeadDims[] = {8, 32, 40, 64, 96, 5, 17};
const int kLengths[] = {1, 3, 17, 63, 200, 4, 16, 64};

}  // namespace

TEST_CASE("int8 attention kernels equal the scalar reference") {
  const auto kernels = attention_int8_kernels_runnable();
  for (const AttentionInt8Kernels* k : kernels) MESSAGE("testing attention kernel " << std::string(k->name));
  MESSAGE("chosen: " << std::string(attention_int8_kernels().name));
  const AttentionInt8Kernels& ref = attention_int8_kernels_ref();
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> s8(-127, 127), u8(0, 255);
  for (int hd : kHeadDims)
    for (int n : kLengths) {
      const Int8HeadLayout L(hd);
      // Random bytes everywhere, padding included: the kernels must not depend on
      // what lies past n or head_dim, except where the layout promises zeros.
      std::vector<int8_t> K(L.k_bytes(n)), V(L.v_bytes(n));
      for (auto& b : K) b = int8_t(s8(rng));
      for (auto& b : V) b = int8_t(s8(rng));
      for (int t = 0; t < (n + 15) / 16 * 16; ++t)
        for (int d = hd; d < L.d_quads * 4; ++d) K[L.k_offset(t, d)] = 0;
      for (int t = 0; t < (n + 3) / 4 * 4; ++t)
        for (int d = hd; d < L.v_dims; ++d) V[L.v_offset(t, d)] = 0;
      std::vector<uint8_t> q(L.d_quads * 4), p((n + 3) / 4 * 4, 0);
      for (auto& b : q) b = uint8_t(u8(rng));
      for (int j = 0; j < n; ++j) p[j] = uint8_t(u8(rng));
      // The reference against plain loops over (t, d).
      std::vector<int32_t> want_s(n), want_o(L.v_dims);
      ref.scores(q.data(), K.data(), L.d_quads, n, want_s.data());
      ref.context(p.data(), V.data(), L.v_dims, n, want_o.data());
      for (int j = 0; j < n; ++j) {
        int32_t s = 0;
        for (int d = 0; d < hd; ++d) s += int32_t(q[d]) * K[L.k_offset(j, d)];
        REQUIRE(want_s[j] == s);
      }
      for (int d = 0; d < hd; ++d) {
        int32_t o = 0;
        for (int j = 0; j < n; ++j) o += int32_t(p[j]) * V[L.v_offset(j, d)];
        REQUIRE(want_o[d] == o);
      }
      for (const AttentionInt8Kernels* k : kernels) {
        CAPTURE(std::string(k->name));
        CAPTURE(hd);
        CAPTURE(n);
        std::vector<int32_t> s(n + 1, -7), o(L.v_dims, -7);
        k->scores(q.data(), K.data(), L.d_quads, n, s.data());
        CHECK(std::vector<int32_t>(s.begin(), s.begin() + n) == want_s);
        CHECK(s[n] == -7);  // writes exactly n scores
        k->context(p.data(), V.data(), L.v_dims, n, o.data());
        CHECK(o == want_o);
      }
    }
}

TEST_CASE("int8 attention: quantize_s8 is the same bytes at every level") {
  const auto kernels = attention_int8_kernels_runnable();
  const AttentionInt8Kernels& ref = attention_int8_kernels_ref();
  // Scale, ties to even, sum, and a zero row.
  const float x[7] = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 0.0f};
  int8_t out[7];
  int32_t sum = 0;
  CHECK(ref.quantize_s8(x, 7, out, &sum) == 1.0f);
  CHECK(std::vector<int>(out, out + 7) == std::vector<int>{127, 0, 2, 2, 0, -2, 0});
  CHECK(sum == 129);
  const float zeros[3] = {0, 0, 0};
  CHECK(ref.quantize_s8(zeros, 3, out, &sum) == 1.0f);
  CHECK(sum == 0);
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 2.0f);
  for (int n : {1, 3, 7, 8, 9, 15, 16, 17, 40, 64, 96, 100}) {
    std::vector<float> row(n);
    for (auto& v : row) v = g(rng);
    if (n > 4) row[3] = 0.5f * row[0];  // a tie when row[0] is the max
    std::vector<int8_t> want(n);
    int32_t want_sum = 0;
    const float want_s = ref.quantize_s8(row.data(), n, want.data(), &want_sum);
    int32_t check = 0;
    for (int i = 0; i < n; ++i) check += want[i];
    CHECK(check == want_sum);
    for (const AttentionInt8Kernels* k : kernels) {
      CAPTURE(std::string(k->name));
      CAPTURE(n);
      std::vector<int8_t> got(n + 1, 99);
      int32_t got_sum = 0;
      CHECK(k->quantize_s8(row.data(), n, got.data(), &got_sum) == want_s);
      CHECK(std::vector<int8_t>(got.begin(), got.begin() + n) == want);
      CHECK(got[n] == 99);
      CHECK(got_sum == want_sum);
    }
  }
}

// Tolerance: keys, values and the query carry 8 bits each (relative error ≤
// 1/254 of each row's max), probabilities 8 bits of the largest weight. On
// unit-scale data the context error stays below 2% of max|v| (largest measured: 1.0%).
TEST_CASE("attend_head_int8 is close to FP32 attention") {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  float worst_all = 0.0f;
  for (int hd : kHeadDims)
    for (int n : kLengths) {
      CAPTURE(hd);
      CAPTURE(n);
      const int units = 3;
      std::vector<float> q(units * hd), k(units * n * hd), v(units * n * hd);
      const float scaling = 1.0f / std::sqrt(float(hd));
      for (auto& x : q) x = g(rng) * scaling * 2.0f;  // peaked and flat rows alike
      for (auto& x : k) x = g(rng);
      for (auto& x : v) x = g(rng);
      Int8KVCache cache(units, hd, 5);
      // Appended step by step with growth, as a decoder does.
      for (int t = 0; t < n; ++t) {
        cache.grow(t + 1, t);
        for (int u = 0; u < units; ++u) cache.store(u, t, &k[(u * n + t) * hd], &v[(u * n + t) * hd]);
      }
      float worst = 0.0f;
      for (int u = 0; u < units; ++u) {
        std::vector<float> want(hd), got(hd), scratch(n);
        attend_head({&q[u * hd], hd}, {&k[u * n * hd], hd}, {&v[u * n * hd], hd}, 1, n, hd, false,
                    want.data(), hd, scratch.data());
        attend_head_int8(&q[u * hd], cache, u, n, got.data());
        float vmax = 0.0f;
        for (int i = 0; i < n * hd; ++i) vmax = std::max(vmax, std::fabs(v[u * n * hd + i]));
        for (int d = 0; d < hd; ++d) worst = std::max(worst, std::fabs(got[d] - want[d]) / vmax);
      }
      CHECK(worst < 0.02f);
      worst_all = std::max(worst_all, worst);
    }
  MESSAGE("largest error / max|v|: " << worst_all);
}

TEST_CASE("Int8KVCache::select keeps each row's heads") {
  const int hd = 40, heads = 2, rows = 3, n = 21;
  std::mt19937 rng(9);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> k(rows * heads * n * hd), v(k.size()), q(hd);
  for (auto& x : k) x = g(rng);
  for (auto& x : v) x = g(rng);
  for (auto& x : q) x = g(rng);
  Int8KVCache cache(rows * heads, hd, 32);
  for (int u = 0; u < rows * heads; ++u)
    for (int t = 0; t < n; ++t) cache.store(u, t, &k[(u * n + t) * hd], &v[(u * n + t) * hd]);
  std::vector<std::vector<float>> before(rows * heads, std::vector<float>(hd));
  for (int u = 0; u < rows * heads; ++u) attend_head_int8(q.data(), cache, u, n, before[u].data());
  const std::vector<int64_t> from = {2, 0, 2, 1};
  cache.select(from, heads, n);
  REQUIRE(cache.units() == 4 * heads);
  for (int i = 0; i < 4; ++i)
    for (int h = 0; h < heads; ++h) {
      std::vector<float> after(hd);
      attend_head_int8(q.data(), cache, i * heads + h, n, after.data());
      CHECK(after == before[from[i] * heads + h]);
    }
}
