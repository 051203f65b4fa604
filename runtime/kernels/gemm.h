// FP32 matrix products. Row-major throughout. One backend per program, chosen
// by CMake (runtime/CMakeLists.txt): oneDNN's sgemm on x86-64 (gemm_onednn.cpp),
// Eigen on AArch64 and in the static qtool-run (gemm_eigen.cpp): header-only,
// nothing extra for a device to carry (oneDNN's optimised sgemm kernels are x86
// JIT code, and a static executable cannot open the library).
#pragma once
#include <cstdint>
#include <string>

namespace qtool::runtime {

// C[M,N] = A[M,K] · B[N,K]ᵀ (+ beta·C): the nn.Linear layout, B = weight [out, in].
void gemm_f32_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc, float beta = 0.0f);
// C[M,N] = A[M,K] · B[K,N] (+ beta·C). oneDNN's sgemm runs up to 2x faster with
// B in this layout at the model's shapes, so Linear stores weights transposed.
void gemm_f32_nn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc, float beta = 0.0f);

// "oneDNN 3.0.0 sgemm", "Eigen 3.4.0": for kernel_description().
std::string gemm_f32_backend();

}  // namespace qtool::runtime
