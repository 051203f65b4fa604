// oneDNN, opened at the first FP32 product instead of linked: a packed INT8 or
// low-bit model has no FP32 product, and a linked libdnnl is mapped and
// relocated in every process (util/shared_library.h). gemm_onednn.cpp calls
// dnnl_sgemm as it would call the library; here it stands in for the library's
// own (the name dnnl.h declares, with C linkage, so a signature that drifts
// from the header does not compile) and forwards to it. Hidden, as every
// symbol of qtool's: it never interposes on a libdnnl something else linked.
#include <dnnl.h>

#include "util/shared_library.h"

namespace {

const qtool::SharedLibrary& onednn() {
  static const qtool::SharedLibrary lib(QTOOL_DNNL_SONAME, "oneDNN, for FP32 matrix products");
  return lib;
}

}  // namespace

extern "C" {

dnnl_status_t dnnl_sgemm(char transa, char transb, dnnl_dim_t M, dnnl_dim_t N, dnnl_dim_t K, float alpha,
                         const float* A, dnnl_dim_t lda, const float* B, dnnl_dim_t ldb, float beta, float* C,
                         dnnl_dim_t ldc) {
  static const auto real = onednn().function<decltype(&dnnl_sgemm)>("dnnl_sgemm");
  return real(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // extern "C"
