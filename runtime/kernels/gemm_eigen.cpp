// FP32 products through Eigen's blocked GEBP kernel, which Eigen vectorises with
// NEON on AArch64 and SSE2 on baseline x86-64 (the static qtool-run's backend).
// One thread per call: the runtime splits products, so Eigen is built without
// its OpenMP team. Header-only: nothing to ship.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>

#include "runtime/kernels/gemm.h"

namespace qtool::runtime {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstView = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
using View = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;

template <class B>
void product(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const B& b, float* C, int64_t ldc,
             float beta) {
  if (M == 0 || N == 0) return;
  ConstView a(A, M, K, Eigen::OuterStride<>(lda));
  View c(C, M, N, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f) {
    c.noalias() = a * b;
  } else {
    c *= beta;
    c.noalias() += a * b;
  }
}

}  // namespace

void gemm_f32_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C, int64_t ldc, float beta) {
  product(M, N, K, A, lda, ConstView(B, N, K, Eigen::OuterStride<>(ldb)).transpose(), C, ldc, beta);
}

void gemm_f32_nn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C, int64_t ldc, float beta) {
  product(M, N, K, A, lda, ConstView(B, K, N, Eigen::OuterStride<>(ldb)), C, ldc, beta);
}

std::string gemm_f32_backend() {
  return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION);
}

}  // namespace qtool::runtime
