#include "runtime/kernels/gemm.h"

#include <dnnl.h>

#include <stdexcept>

#include "runtime/kernels/serial_openmp.h"

namespace qtool::runtime {

void gemm_f32_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc, float beta) {
  if (M == 0 || N == 0) return;
  SerialOpenMp serial;
  dnnl_status_t st = dnnl_sgemm('N', 'T', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success) throw std::runtime_error("oneDNN sgemm failed");
}

void gemm_f32_nn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc, float beta) {
  if (M == 0 || N == 0) return;
  SerialOpenMp serial;
  dnnl_status_t st = dnnl_sgemm('N', 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success) throw std::runtime_error("oneDNN sgemm failed");
}

std::string gemm_f32_backend() {
  // The version built against (the library opened by its SONAME is that ABI):
  // asking the library would open it (kernels/onednn_loader.cpp) in a process
  // that has no FP32 product to run.
  return "oneDNN " + std::to_string(DNNL_VERSION_MAJOR) + "." + std::to_string(DNNL_VERSION_MINOR) + "." +
         std::to_string(DNNL_VERSION_PATCH) + " sgemm";
}

}  // namespace qtool::runtime
