// Binary-code kernels: every SIMD kernel against the scalar reference (integer
// part exact, so only float rounding may differ), and the reference against an
// FP64 product of the decoded weights and the dequantized activations.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/gemm_binary.h"

using namespace qtool;
using namespace qtool::runtime;

namespace {

// Random signs and α straight into the packed layout (the quantizer is tested elsewhere).
BinaryCodeTensor random_tensor(int64_t rows, int64_t cols, int bits, int64_t group, std::mt19937& rng) {
  BinaryCodeTensor t = BinaryCodeTensor::make(rows, cols, bits, group);
  std::uniform_int_distribution<int> coin(0, 1);
  std::uniform_real_distribution<float> a(0.01f, 1.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      for (int b = 0; b < bits; ++b) binary_code_set_sign(t, b, r, c, coin(rng));
  for (float& v : t.alphas) v = a(rng);
  return t;
}

// n random u8 activations.
std::vector<uint8_t> random_activations(int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> u8(0, 255);
  std::vector<uint8_t> a(n);
  for (auto& v : a) v = uint8_t(u8(rng));
  return a;
}

// Σ_i |q_i| · Σ_b α_b: what the float rounding of one output is relative to.
double magnitude(const uint8_t* a, const BinaryCodeTensor& W, int64_t o) {
  double mag = 0.0;
  for (int64_t i = 0; i < W.cols; ++i)
    for (int b = 0; b < W.bits; ++b) mag += std::abs(double(a[i]) - 128.0) * W.alpha(o, b, i / W.group_size);
  return mag;
}

}  // namespace

TEST_CASE("binary gemm: every kernel equals the reference, the reference equals FP64") {
  std::vector<const BinaryKernels*> kernels = binary_kernels_runnable();
  kernels.erase(kernels.begin());  // the reference itself
  MESSAGE("chosen binary kernel: " << std::string(binary_kernels().name));
  std::mt19937 rng(11);
  const std::vector<int64_t> Ms = {1, 2, 3, 5, 7, 33}, Rs = {1, 15, 16, 17, 100},
                             Ks = {4, 8, 12, 68, 100, 260, 1024}, groups = {0, 4, 8, 64, 128};
  int cases = 0;
  for (int64_t K : Ks)
    for (int64_t group : groups)
      for (int bits = 1; bits <= 4; ++bits) {
        if (group > K) continue;
        // Every (K, group, bits) once, cycling through M and rows.
        const int64_t M = Ms[cases % Ms.size()], N = Rs[(cases / Ms.size()) % Rs.size()];
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(K);
        CAPTURE(bits);
        CAPTURE(group);
        const BinaryCodeTensor W = random_tensor(N, K, bits, group, rng);
        const int64_t lda = K + 3;  // odd stride; bytes past K are garbage on purpose
        const std::vector<uint8_t> A = random_activations(M * lda, rng);
        std::vector<float> want(M * N, -1.0f);
        binary_gemm(binary_kernels_ref(), A.data(), M, lda, W, want.data(), N);

        // The reference against FP64 from the decoded weights.
        std::vector<double> mag(M * N);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t o = 0; o < N; ++o) {
            double exact = 0.0;
            for (int64_t i = 0; i < K; ++i) exact += (double(A[m * lda + i]) - 128.0) * binary_code_value(W, o, i);
            mag[m * N + o] = magnitude(A.data() + m * lda, W, o);
            REQUIRE(std::abs(want[m * N + o] - exact) <= 1e-5 * mag[m * N + o]);
          }
        // Kernels against the reference: same integers, same order of α terms.
        for (const BinaryKernels* k : kernels) {
          CAPTURE(std::string(k->name));
          std::vector<float> got(M * N + 1, -7.0f);
          binary_gemm(*k, A.data(), M, lda, W, got.data(), N);
          for (int64_t j = 0; j < M * N; ++j) REQUIRE(std::abs(got[j] - want[j]) <= 1e-6 * mag[j]);
          CHECK(got[M * N] == -7.0f);  // nothing written past C
        }
        ++cases;
      }
  CHECK(cases > 100);
}

TEST_CASE("binary gemm: every M and row count, every kernel") {
  std::mt19937 rng(4);
  std::vector<const BinaryKernels*> kernels = binary_kernels_runnable();
  // K = 2048 makes the larger products take the OpenMP path.
  for (int64_t M : {1, 2, 3, 4, 5, 7, 8, 33, 64})
    for (int64_t N : {1, 15, 16, 17, 32, 33, 100})
      for (auto [K, bits] : {std::pair<int64_t, int>{132, 2}, {132, 3}, {2048, 2}}) {
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(K);
        CAPTURE(bits);
        const BinaryCodeTensor W = random_tensor(N, K, bits, 64, rng);
        const std::vector<uint8_t> A = random_activations(M * K, rng);
        std::vector<float> want(M * N), got(M * N);
        binary_gemm(binary_kernels_ref(), A.data(), M, K, W, want.data(), N);
        for (const BinaryKernels* k : kernels) {
          CAPTURE(std::string(k->name));
          binary_gemm(*k, A.data(), M, K, W, got.data(), N);
          for (int64_t m = 0; m < M; ++m)
            for (int64_t o = 0; o < N; ++o)
              REQUIRE(std::abs(got[m * N + o] - want[m * N + o]) <= 1e-6 * magnitude(A.data() + m * K, W, o));
        }
      }
}

TEST_CASE("binary gemm: one and two activation rows, all group sizes") {
  // M ≤ 2 takes the AVX-512 lookup path when groups are whole steps of 4 (or 2)
  // quads, the expand path otherwise; partial steps at the end of a row included.
  std::mt19937 rng(8);
  std::vector<const BinaryKernels*> kernels = binary_kernels_runnable();
  for (int64_t K : {4, 6, 10, 12, 60, 100, 260, 1028, 2052})
    for (int64_t group : {0, 8, 16, 32, 64, 128})
      for (int bits = 1; bits <= 4; ++bits)
        for (int64_t M : {1, 2}) {
          if (group > K) continue;
          const int64_t N = (K + group + bits) % 3 == 0 ? 1 : (K + bits) % 2 ? 17 : 100;
          CAPTURE(M);
          CAPTURE(N);
          CAPTURE(K);
          CAPTURE(bits);
          CAPTURE(group);
          const BinaryCodeTensor W = random_tensor(N, K, bits, group, rng);
          const std::vector<uint8_t> A = random_activations(M * K, rng);
          std::vector<float> want(M * N), got(M * N);
          binary_gemm(binary_kernels_ref(), A.data(), M, K, W, want.data(), N);
          for (const BinaryKernels* k : kernels) {
            CAPTURE(std::string(k->name));
            binary_gemm(*k, A.data(), M, K, W, got.data(), N);
            for (int64_t m = 0; m < M; ++m)
              for (int64_t o = 0; o < N; ++o)
                REQUIRE(std::abs(got[m * N + o] - want[m * N + o]) <= 1e-6 * magnitude(A.data() + m * K, W, o));
          }
        }
}

TEST_CASE("binary gemm: extreme activations and signs are exact") {
  // α = 1 makes every output an integer below 2^24, so float sums are exact and
  // the kernels must match the reference bit for bit. q = −128 and 127 stress
  // the byte tables of the lookup path and the s16 partial sums (K > 32 steps).
  const int64_t N = 33, K = 4100;
  std::vector<const BinaryKernels*> kernels = binary_kernels_runnable();
  std::mt19937 rng(3);
  for (int bits : {1, 2, 3, 4})
    for (int64_t group : {0, 128})
      for (int signs = 0; signs < 3; ++signs) {  // all +1, all −1, random
        BinaryCodeTensor W = BinaryCodeTensor::make(N, K, bits, group);
        for (int64_t r = 0; r < N; ++r)
          for (int64_t c = 0; c < K; ++c)
            for (int b = 0; b < bits; ++b) binary_code_set_sign(W, b, r, c, signs == 0 || (signs == 2 && rng() % 2));
        std::fill(W.alphas.begin(), W.alphas.end(), 1.0f);
        for (int pattern = 0; pattern < 4; ++pattern)  // all 0, all 255, all 128, alternating 0 / 255
          for (int64_t M : {1, 2, 5}) {
            CAPTURE(bits);
            CAPTURE(group);
            CAPTURE(signs);
            CAPTURE(pattern);
            CAPTURE(M);
            std::vector<uint8_t> A(M * K);
            for (int64_t i = 0; i < M * K; ++i)
              A[i] = pattern == 0 ? 0 : pattern == 1 ? 255 : pattern == 2 ? 128 : (i % 2 ? 255 : 0);
            std::vector<float> want(M * N), got(M * N);
            binary_gemm(binary_kernels_ref(), A.data(), M, K, W, want.data(), N);
            if (signs == 0 && pattern == 0) CHECK(want[0] == float(-128 * K * bits));
            for (const BinaryKernels* k : kernels) {
              CAPTURE(std::string(k->name));
              binary_gemm(*k, A.data(), M, K, W, got.data(), N);
              CHECK(got == want);
            }
          }
      }
}

namespace {

// fn(kernel, M, W, A) for every runnable kernel × M × (N, K, bits), with a
// random W (one α per row) and random activations for each.
template <typename F>
void for_random_products(std::mt19937& rng, std::initializer_list<int64_t> Ms,
                         std::initializer_list<std::tuple<int64_t, int64_t, int>> shapes, F&& fn) {
  for (const BinaryKernels* k : binary_kernels_runnable())
    for (int64_t M : Ms)
      for (auto [N, K, bits] : shapes) {
        CAPTURE(std::string(k->name));
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(bits);
        const BinaryCodeTensor W = random_tensor(N, K, bits, 0, rng);
        fn(*k, M, W, random_activations(M * K, rng));
      }
}

}  // namespace

TEST_CASE("binary gemm: threads split row blocks, results bit-identical to one thread") {
  // Big enough products that binary_gemm splits them into several chunks (≥ 2^18
  // bit products each), odd row counts so the last block is partial.
  std::mt19937 rng(21);
  for_random_products(rng, {1, 2, 3, 9}, {{4001, 256, 1}, {2003, 260, 2}, {517, 1024, 3}, {768, 256, 4}},
                      [](const BinaryKernels& k, int64_t M, const BinaryCodeTensor& W, const std::vector<uint8_t>& A) {
                        const int64_t N = W.rows, K = W.cols;
                        std::vector<float> one(M * N), two(M * N);
                        {
                          const ThreadLimit alone(1);
                          binary_gemm(k, A.data(), M, K, W, one.data(), N);
                        }
                        CHECK(M * N * K * W.bits >= 2 * (int64_t(1) << 18));  // really split
                        const ThreadLimit three(3);
                        binary_gemm(k, A.data(), M, K, W, two.data(), N);
                        REQUIRE(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
                      });
}

TEST_CASE("binary gemm: any split of the row blocks computes the same columns as the whole product") {
  // What a team member computes (gemm_blocks on its range) is exactly its part of
  // the whole product, and nothing outside its columns is written.
  std::mt19937 rng(23);
  for_random_products(rng, {1, 2, 5}, {{100, 68, 1}, {33, 256, 2}, {50, 100, 3}, {17, 260, 4}},
                      [](const BinaryKernels& k, int64_t M, const BinaryCodeTensor& W, const std::vector<uint8_t>& A) {
                        const int64_t N = W.rows, K = W.cols;
                        std::vector<float> whole(M * N);
                        k.gemm_blocks(A.data(), M, K, W, 0, W.row_blocks(), whole.data(), N);
                        for (int64_t cut = 0; cut <= W.row_blocks(); ++cut) {
                          std::vector<float> parts(M * N, -7.0f);
                          k.gemm_blocks(A.data(), M, K, W, 0, cut, parts.data(), N);
                          for (int64_t m = 0; m < M; ++m)  // columns past the first range untouched
                            for (int64_t o = std::min(16 * cut, N); o < N; ++o) REQUIRE(parts[m * N + o] == -7.0f);
                          k.gemm_blocks(A.data(), M, K, W, cut, W.row_blocks(), parts.data(), N);
                          REQUIRE(std::memcmp(parts.data(), whole.data(), whole.size() * sizeof(float)) == 0);
                        }
                      });
}

TEST_CASE("binary gemm: activations kept between calls only while the rows, planes and groups are the same") {
  // Kernels keep the last rows' preparation (and lookup tables) per thread and
  // compare rows by content: the same buffer refilled, the same rows with other
  // planes or groups, and another kernel's call in between must all be redone.
  std::mt19937 rng(21);
  std::vector<const BinaryKernels*> kernels = binary_kernels_runnable();
  const int64_t K = 260, N = 33;
  for (int64_t M : {1, 2}) {
    std::vector<uint8_t> A = random_activations(M * K, rng);
    std::vector<BinaryCodeTensor> Ws;
    for (auto [bits, group] : {std::pair<int, int64_t>{3, 0}, {3, 0}, {2, 0}, {3, 0}, {4, 0}, {2, 0}, {3, 32}, {1, 64}})
      Ws.push_back(random_tensor(N, K, bits, group, rng));
    auto check = [&](const BinaryCodeTensor& W) {
      std::vector<float> want(M * N), got(M * N), other_out(M * N);
      binary_gemm(binary_kernels_ref(), A.data(), M, K, W, want.data(), N);
      for (const BinaryKernels* k : kernels)
        for (const BinaryKernels* other : kernels) {
          CAPTURE(M);
          CAPTURE(W.bits);
          CAPTURE(W.group_size);
          CAPTURE(std::string(k->name));
          CAPTURE(std::string(other->name));
          // Part of the blocks, another kernel on the same rows, then the rest.
          k->gemm_blocks(A.data(), M, K, W, 0, 1, got.data(), N);
          other->gemm_blocks(A.data(), M, K, W, 0, W.row_blocks(), other_out.data(), N);
          k->gemm_blocks(A.data(), M, K, W, 1, W.row_blocks(), got.data(), N);
          for (int64_t m = 0; m < M; ++m)
            for (int64_t o = 0; o < N; ++o)
              REQUIRE(std::abs(got[m * N + o] - want[m * N + o]) <= 1e-6 * magnitude(A.data() + m * K, W, o));
        }
    };
    for (const BinaryCodeTensor& W : Ws) {
      check(W);
      A[(M * K) / 2 + W.bits] ^= 0x5a;  // the same buffer, one byte changed, the same W
      check(W);
    }
    for (const BinaryCodeTensor& W : Ws) check(W);  // the same rows, planes 3, 3, 2, 3, 4, 2 …
  }
}
