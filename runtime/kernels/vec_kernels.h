// Kernels written once against a small vector trait V and instantiated per
// instruction set. Include only from vec_ops_<isa>.cpp, inside an anonymous
// namespace, so each instantiation stays private to its file.
//
// V provides: using reg; static constexpr int64_t width; load(p), load(p, n)
// (lanes ≥ n are 0), store(p, v), store(p, v, n) (only n lanes), set1(x), add,
// sub, mul, div, fma(a, b, c) = a·b + c, max, min, abs, reduce_add, reduce_max, exp,
// store_u8_offset(p, v, n) (round to nearest even, +128, n bytes), and
// s32_offset_to_float(acc, sums, n) = float(acc − 128·sums), n lanes.
// A tail shorter than the width goes through the partial load/store, so every
// length is handled by the same code.

// The including file provides <cmath> and vec_ops.h before its namespace.

template <class V>
struct VecKernels {
  using reg = typename V::reg;
  static constexpr int64_t W = V::width;
  static int64_t lanes(int64_t i, int64_t n) { return n - i < W ? n - i : W; }

  static float dot(const float* a, const float* b, int64_t n) {
    reg acc = V::set1(0.0f);
    for (int64_t i = 0; i < n; i += W) acc = V::fma(V::load(a + i, lanes(i, n)), V::load(b + i, lanes(i, n)), acc);
    return V::reduce_add(acc);
  }

  static void axpy(float alpha, const float* x, float* y, int64_t n) {
    const reg a = V::set1(alpha);
    for (int64_t i = 0; i < n; i += W) {
      const int64_t k = lanes(i, n);
      V::store(y + i, V::fma(a, V::load(x + i, k), V::load(y + i, k)), k);
    }
  }

  // out[j] = a · B[j] for j < rows (B's rows `stride` floats apart): the scores of
  // one query against a head's keys. Four rows per pass share the loads of a and
  // one horizontal-sum tree (the sums' order differs from dot()'s in the last bits).
  static void dot_rows(const float* a, const float* B, int64_t stride, int64_t rows, int64_t n, float* out) {
    int64_t j = 0;
    for (; j + 4 <= rows; j += 4) {
      const float* b = B + j * stride;
      reg s0 = V::set1(0.0f), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t i = 0; i < n; i += W) {
        const int64_t k = lanes(i, n);
        const reg x = V::load(a + i, k);
        s0 = V::fma(x, V::load(b + i, k), s0);
        s1 = V::fma(x, V::load(b + stride + i, k), s1);
        s2 = V::fma(x, V::load(b + 2 * stride + i, k), s2);
        s3 = V::fma(x, V::load(b + 3 * stride + i, k), s3);
      }
      V::reduce_add4(s0, s1, s2, s3, out + j);
    }
    for (; j < rows; ++j) out[j] = dot(a, B + j * stride, n);
  }

  // out = Σ_j p[j] · B[j] (B's rows `stride` floats apart): softmax · V for one
  // query. Up to four registers of out stay in registers across all rows; the
  // sum runs in the same order as repeated axpy() from zero.
  static void weighted_sum_rows(const float* p, const float* B, int64_t stride, int64_t rows, int64_t n,
                                float* out) {
    for (int64_t c = 0; c < n; c += 4 * W) {
      const int64_t width = n - c < 4 * W ? n - c : 4 * W;
      const int64_t regs = (width + W - 1) / W;
      reg acc[4] = {V::set1(0.0f), V::set1(0.0f), V::set1(0.0f), V::set1(0.0f)};
      for (int64_t j = 0; j < rows; ++j) {
        const reg pj = V::set1(p[j]);
        const float* b = B + j * stride + c;
        for (int64_t r = 0; r < regs; ++r) acc[r] = V::fma(pj, V::load(b + r * W, lanes(r * W, width)), acc[r]);
      }
      for (int64_t r = 0; r < regs; ++r) V::store(out + c + r * W, acc[r], lanes(r * W, width));
    }
  }

  static void scale(float* x, float alpha, int64_t n) {
    const reg a = V::set1(alpha);
    for (int64_t i = 0; i < n; i += W) V::store(x + i, V::mul(a, V::load(x + i, lanes(i, n))), lanes(i, n));
  }

  static reg activate(reg x, qtool::runtime::VecAct act) {
    using qtool::runtime::VecAct;
    const reg one = V::set1(1.0f);
    switch (act) {
      case VecAct::relu: return V::max(x, V::set1(0.0f));
      case VecAct::silu: return V::div(x, V::add(one, V::exp(V::sub(V::set1(0.0f), x))));
      case VecAct::gelu_tanh: {
        // 0.5·x·(1 + tanh(u)), u = sqrt(2/π)·(x + 0.044715·x³), tanh(u) = 1 − 2 / (exp(2u) + 1)
        const reg u = V::mul(V::set1(0.79788456080286536f),
                             V::fma(V::mul(V::set1(0.044715f), x), V::mul(x, x), x));
        const reg t = V::sub(one, V::div(V::set1(2.0f), V::add(V::exp(V::add(u, u)), one)));
        return V::mul(V::mul(V::set1(0.5f), x), V::add(one, t));
      }
      case VecAct::quick_gelu:  // x·σ(1.702·x)
        return V::div(x, V::add(one, V::exp(V::mul(V::set1(-1.702f), x))));
      case VecAct::sigmoid: return V::div(one, V::add(one, V::exp(V::sub(V::set1(0.0f), x))));
      case VecAct::tanh:  // 1 − 2 / (exp(2x) + 1): ±1 at the extremes, no overflow to NaN
        return V::sub(one, V::div(V::set1(2.0f), V::add(V::exp(V::add(x, x)), one)));
      case VecAct::relu6: return V::min(V::max(x, V::set1(0.0f)), V::set1(6.0f));
      case VecAct::leaky_relu:  // PyTorch's default slope 0.01
        return V::add(V::max(x, V::set1(0.0f)), V::mul(V::set1(0.01f), V::min(x, V::set1(0.0f))));
      case VecAct::mish: {
        // x·tanh(softplus(x)) = x·n / (n + 2), n = e·(e + 2), e = exp(x); past x = 20 it is x in float.
        const reg e = V::exp(V::min(x, V::set1(20.0f)));
        const reg n = V::mul(e, V::add(e, V::set1(2.0f)));
        return V::div(V::mul(x, n), V::add(n, V::set1(2.0f)));
      }
      default: return x;
    }
  }

  static void add_bias_act(float* y, const float* bias, int64_t n, qtool::runtime::VecAct act) {
    if (act == qtool::runtime::VecAct::gelu) {  // erf has no vector form here: exact scalar
      for (int64_t i = 0; i < n; ++i) {
        const float v = y[i] + bias[i];
        y[i] = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
      }
      return;
    }
    for (int64_t i = 0; i < n; i += W) {
      const int64_t k = lanes(i, n);
      V::store(y + i, activate(V::add(V::load(y + i, k), V::load(bias + i, k)), act), k);
    }
  }

  static void add_layer_norm(float* x, const float* residual, int64_t n, const float* gamma,
                             const float* beta, float* out) {
    reg sum = V::set1(0.0f);
    for (int64_t i = 0; i < n; i += W) {
      const int64_t k = lanes(i, n);
      reg v = V::load(x + i, k);
      if (residual) {
        v = V::add(v, V::load(residual + i, k));
        V::store(x + i, v, k);
      }
      sum = V::add(sum, v);
    }
    const float mean = V::reduce_add(sum) / static_cast<float>(n);
    const reg m = V::set1(mean);
    reg sq = V::set1(0.0f);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const reg d = V::sub(V::load(x + i), m);
      sq = V::fma(d, d, sq);
    }
    float var = V::reduce_add(sq);
    for (; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    const reg r = V::set1(1.0f / std::sqrt(var / static_cast<float>(n) + 1e-5f));
    for (i = 0; i < n; i += W) {
      const int64_t k = lanes(i, n);
      V::store(out + i, V::fma(V::mul(V::sub(V::load(x + i, k), m), r), V::load(gamma + i, k), V::load(beta + i, k)), k);
    }
  }

  static float max_of(const float* x, int64_t n) {
    reg m = V::set1(x[0]);
    int64_t i = 0;
    for (; i + W <= n; i += W) m = V::max(m, V::load(x + i));
    float r = V::reduce_max(m);
    for (; i < n; ++i) r = x[i] > r ? x[i] : r;
    return r;
  }

  // Σ exp(x − mx) over n values; writes the exponentials to `out` when given.
  static float sum_exp(const float* x, int64_t n, float mx, float* out) {
    const reg m = V::set1(mx);
    reg sum = V::set1(0.0f);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const reg e = V::exp(V::sub(V::load(x + i), m));
      if (out) V::store(out + i, e);
      sum = V::add(sum, e);
    }
    float s = V::reduce_add(sum);
    if (i < n) {
      float tail[W];
      V::store(tail, V::exp(V::sub(V::load(x + i, n - i), m)));
      for (int64_t j = 0; j < n - i; ++j) s += tail[j];
      if (out) V::store(out + i, V::load(tail, n - i), n - i);
    }
    return s;
  }

  // The first index of the largest value, as std::max_element (greedy decoding):
  // the maximum by vectors, then the first element equal to it.
  static int64_t argmax(const float* x, int64_t n) {
    if (n <= 0) return 0;
    const float m = max_of(x, n);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const int lane = V::first_equal(V::load(x + i), m);
      if (lane < W) return i + lane;
    }
    for (; i < n; ++i)
      if (x[i] == m) return i;
    return 0;  // NaNs only
  }

  static void softmax(float* x, int64_t n) {
    const float s = sum_exp(x, n, max_of(x, n), x);
    scale(x, 1.0f / s, n);
  }

  static void log_softmax(float* x, int64_t n) {
    const float mx = max_of(x, n);
    const float lse = mx + std::log(sum_exp(x, n, mx, nullptr));
    const reg l = V::set1(lse);
    for (int64_t i = 0; i < n; i += W) V::store(x + i, V::sub(V::load(x + i, lanes(i, n)), l), lanes(i, n));
  }

  static float quantize_u8(const float* x, int64_t n, float fixed_scale, uint8_t* out) {
    float s = fixed_scale;
    if (s <= 0.0f) {
      reg m = V::set1(0.0f);
      for (int64_t i = 0; i < n; i += W) m = V::max(m, V::abs(V::load(x + i, lanes(i, n))));
      const float amax = V::reduce_max(m);
      s = amax > 0.0f ? amax / 127.0f : 1.0f;
    }
    const reg inv = V::set1(1.0f / s), lo = V::set1(-127.0f), hi = V::set1(127.0f);
    for (int64_t i = 0; i < n; i += W) {
      const reg v = V::min(V::max(V::mul(V::load(x + i, lanes(i, n)), inv), lo), hi);
      V::store_u8_offset(out + i, v, lanes(i, n));
    }
    return s;
  }

  // Asymmetric inputs: u8 = clamp(round(x / s) + z, 0, 255), x ≈ s·(u8 − z); z = 0
  // is a one-sided input (x ≥ 0). Clamped to [−z, 255 − z] first, then written
  // through store_u8_offset as round(x/s + z − 128) + 128.
  static void quantize_u8_affine(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out) {
    const reg inv = V::set1(1.0f / scale), lo = V::set1(float(-zero_point)), hi = V::set1(float(255 - zero_point)),
              off = V::set1(float(zero_point - 128));
    for (int64_t i = 0; i < n; i += W) {
      const reg v = V::min(V::max(V::mul(V::load(x + i, lanes(i, n)), inv), lo), hi);
      V::store_u8_offset(out + i, V::add(v, off), lanes(i, n));
    }
  }

  static void dequantize_s32(const int32_t* acc, const int32_t* col_sums, int32_t zero, float row_scale,
                             const float* col_scales, const float* bias, qtool::runtime::VecAct act, int64_t n,
                             float* out) {
    using qtool::runtime::VecAct;
    const reg rs = V::set1(row_scale);
    const VecAct vec_act = act == VecAct::gelu ? VecAct::none : act;  // erf: scalar pass below
    for (int64_t i = 0; i < n; i += W) {
      const int64_t k = lanes(i, n);
      reg v = V::mul(V::s32_offset_to_float(acc + i, col_sums + i, zero, k), V::mul(rs, V::load(col_scales + i, k)));
      if (bias) v = V::add(v, V::load(bias + i, k));
      V::store(out + i, activate(v, vec_act), k);
    }
    if (act == VecAct::gelu)
      for (int64_t i = 0; i < n; ++i) out[i] = 0.5f * out[i] * (1.0f + std::erf(out[i] * 0.70710678118654752f));
  }

  static qtool::runtime::VecOps table(const char* isa) {
    return {isa, dot, axpy, dot_rows, weighted_sum_rows, scale, add_bias_act, add_layer_norm,
            softmax, log_softmax, argmax, quantize_u8, quantize_u8_affine, dequantize_s32};
  }
};
