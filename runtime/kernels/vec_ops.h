// The row-wise FP32 kernels around the matrix products, behind one table of
// function pointers chosen once by CPUID (kernels/cpu_features). The same
// template source (vec_kernels.h) is compiled per instruction set:
// vec_ops_ref.cpp (plain C++, the oracle), vec_ops_avx2.cpp, vec_ops_avx512.cpp,
// vec_ops_neon.cpp (AArch64).
#pragma once
#include <cstdint>
#include <vector>

namespace qtool::runtime {

// Activation codes for add_bias_act (mirrors qtool::Activation, plus none).
enum class VecAct : int {
  none = -1, relu = 0, silu = 1, gelu = 2, gelu_tanh = 3, quick_gelu = 4, tanh = 5, sigmoid = 6, relu6 = 7,
  leaky_relu = 8, mish = 9
};

struct VecOps {
  const char* isa;
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float alpha, const float* x, float* y, int64_t n);  // y += alpha·x
  // out[j] = a · B[j], j < rows; B's rows are `stride` floats apart (attention scores).
  void (*dot_rows)(const float* a, const float* B, int64_t stride, int64_t rows, int64_t n, float* out);
  // out = Σ_j p[j] · B[j] over n floats (attention's softmax · V).
  void (*weighted_sum_rows)(const float* p, const float* B, int64_t stride, int64_t rows, int64_t n,
                            float* out);
  void (*scale)(float* x, float alpha, int64_t n);
  void (*add_bias_act)(float* y, const float* bias, int64_t n, VecAct act);
  // out = LN(x + residual) with eps 1e-5; x is updated to x + residual first.
  void (*add_layer_norm)(float* x, const float* residual, int64_t n, const float* gamma,
                         const float* beta, float* out);
  void (*softmax)(float* x, int64_t n);
  void (*log_softmax)(float* x, int64_t n);
  // The first index of the largest of x[0, n), as std::max_element (no NaNs).
  int64_t (*argmax)(const float* x, int64_t n);
  // Symmetric quantization of one row: s = fixed_scale when > 0 (static),
  // else max|x| / 127 (dynamic; 1 for a zero row); out = clamp(round(x / s),
  // −127, 127) + 128 as u8; returns s.
  float (*quantize_u8)(const float* x, int64_t n, float fixed_scale, uint8_t* out);
  // Asymmetric input with a static scale and zero point z (0..254; 0 for a
  // one-sided input): out = clamp(round(x / s) + z, 0, 255), so x ≈ s·(out − z).
  void (*quantize_u8_affine)(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out);
  // out = act((acc − zero·col_sums) · row_scale · col_scales + bias): s32 products
  // of u8 activations with zero point `zero` (128 symmetric, else the affine z) back to
  // floats, with the bias (may be null) and activation fused into the same pass.
  void (*dequantize_s32)(const int32_t* acc, const int32_t* col_sums, int32_t zero, float row_scale,
                         const float* col_scales, const float* bias, VecAct act, int64_t n, float* out);
};

const VecOps& vec_ops();  // the table for this CPU (or QTOOL_ISA)
const VecOps& vec_ops_ref();
const VecOps* vec_ops_avx2();    // null when not compiled in
const VecOps* vec_ops_avx512();  // null when not compiled in
const VecOps* vec_ops_neon();
// Every table this CPU can run (QTOOL_ISA aside), the reference first: what the
// tests compare and `qtool bench-gemm` lists.
std::vector<const VecOps*> vec_ops_runnable();

}  // namespace qtool::runtime
