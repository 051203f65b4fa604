// FP32 products (runtime/kernels/gemm.h) against a double reference on odd
// shapes, with leading dimensions wider than the rows and beta ≠ 0. Built once
// per backend a program can link (tests/runtime/CMakeLists.txt); each binary
// also checks that it runs the backend it was built for.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/kernels/gemm.h"

using namespace qtool::runtime;

namespace {

struct Shape {
  int M, N, K;
};

const std::vector<Shape> kShapes = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 1, 128}, {1, 1000, 333}, {5, 257, 31}};

// C = A·op(B) + beta·C0 in double; B is [N, K] when transposed, else [K, N].
void check_product(bool transposed, const Shape& s, float beta, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  const int lda = s.K + 3, ldb = (transposed ? s.K : s.N) + 2, ldc = s.N + 5;
  std::vector<float> A(static_cast<size_t>(s.M) * lda), B(static_cast<size_t>(transposed ? s.N : s.K) * ldb),
      C(static_cast<size_t>(s.M) * ldc);
  for (float& v : A) v = u(rng);
  for (float& v : B) v = u(rng);
  for (float& v : C) v = u(rng);
  const std::vector<float> C0 = C;
  if (transposed)
    gemm_f32_nt(s.M, s.N, s.K, A.data(), lda, B.data(), ldb, C.data(), ldc, beta);
  else
    gemm_f32_nn(s.M, s.N, s.K, A.data(), lda, B.data(), ldb, C.data(), ldc, beta);
  for (int i = 0; i < s.M; ++i) {
    for (int j = 0; j < s.N; ++j) {
      double ref = double(beta) * C0[i * ldc + j];
      for (int k = 0; k < s.K; ++k)
        ref += double(A[i * lda + k]) * (transposed ? B[j * ldb + k] : B[k * ldb + j]);
      REQUIRE(C[i * ldc + j] == doctest::Approx(ref).epsilon(1e-5));
    }
    for (int j = s.N; j < ldc; ++j) REQUIRE(C[i * ldc + j] == C0[i * ldc + j]);  // padding untouched
  }
}

}  // namespace

TEST_CASE("the FP32 backend is the one this program was built with") {
  CHECK(gemm_f32_backend().rfind(QTOOL_EXPECTED_FP32_GEMM, 0) == 0);
}

TEST_CASE("gemm_f32_nt and gemm_f32_nn equal a double reference on odd shapes, strides and beta") {
  std::mt19937 rng(7);
  for (const Shape& s : kShapes)
    for (float beta : {0.0f, 1.0f, -0.5f}) {
      CAPTURE(s.M);
      CAPTURE(s.N);
      CAPTURE(s.K);
      CAPTURE(beta);
      check_product(true, s, beta, rng);
      check_product(false, s, beta, rng);
    }
}
