// FP32 matrix products. Row-major throughout.
#pragma once
#include <cstdint>

namespace qtool::runtime {

// C[M,N] = A[M,K] · B[N,K]ᵀ (+ beta·C): the nn.Linear layout, B = weight [out, in].
void gemm_f32_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc, float beta = 0.0f);
// C[M,N] = A[M,K] · B[K,N] (+ beta·C). oneDNN's sgemm runs up to 2x faster with
// B in this layout at the model's shapes, so Linear stores weights transposed.
void gemm_f32_nn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc, float beta = 0.0f);

}  // namespace qtool::runtime
