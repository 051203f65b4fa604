// Every vectorised row kernel against the scalar reference, on random data and
// lengths that are not multiples of any vector width.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/vec_ops.h"

using namespace qtool::runtime;

namespace {

std::vector<const VecOps*> available() {
  std::vector<const VecOps*> t;
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma) t.push_back(vec_ops_avx2());
  if (f.avx512f && f.avx512bw && f.avx512vl && f.fma) t.push_back(vec_ops_avx512());
  return t;
}

std::vector<float> random_vec(std::mt19937& rng, int64_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

void check_close(const std::vector<float>& a, const std::vector<float>& b, double rel) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(rel).scale(1.0));
}

}  // namespace

TEST_CASE("vector kernels equal the scalar reference on odd lengths") {
  const VecOps& ref = vec_ops_ref();
  auto tables = available();
  if (tables.empty()) MESSAGE("no vector instruction set on this CPU: only the reference runs");
  std::mt19937 rng(3);
  for (const VecOps* t : tables) {
    CAPTURE(t->isa);
    for (int64_t n : {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257, 8000}) {
      CAPTURE(n);
      auto a = random_vec(rng, n, -3, 3), b = random_vec(rng, n, -3, 3);
      CHECK(t->dot(a.data(), b.data(), n) == doctest::Approx(ref.dot(a.data(), b.data(), n)).epsilon(1e-4).scale(1.0));

      auto y1 = b, y2 = b;
      ref.axpy(0.7f, a.data(), y1.data(), n);
      t->axpy(0.7f, a.data(), y2.data(), n);
      check_close(y2, y1, 1e-6);

      for (VecAct act : {VecAct::none, VecAct::relu, VecAct::silu, VecAct::gelu, VecAct::gelu_tanh}) {
        auto z1 = a, z2 = a;
        ref.add_bias_act(z1.data(), b.data(), n, act);
        t->add_bias_act(z2.data(), b.data(), n, act);
        check_close(z2, z1, 1e-5);
      }

      auto g = random_vec(rng, n, 0.5f, 1.5f), be = random_vec(rng, n, -1, 1);
      auto x1 = a, x2 = a;
      std::vector<float> o1(n), o2(n);
      ref.add_layer_norm(x1.data(), b.data(), n, g.data(), be.data(), o1.data());
      t->add_layer_norm(x2.data(), b.data(), n, g.data(), be.data(), o2.data());
      check_close(x2, x1, 1e-6);
      if (n > 1) check_close(o2, o1, 1e-4);

      auto s1 = random_vec(rng, n, -30, 30), s2 = s1, l1 = s1, l2 = s1;
      ref.softmax(s1.data(), n);
      t->softmax(s2.data(), n);
      check_close(s2, s1, 1e-5);
      ref.log_softmax(l1.data(), n);
      t->log_softmax(l2.data(), n);
      check_close(l2, l1, 1e-5);
    }
  }
}

TEST_CASE("scalar reference kernels on hand-computed values") {
  const VecOps& ref = vec_ops_ref();
  const float a[3] = {1, 2, 3}, b[3] = {4, -5, 6};
  CHECK(ref.dot(a, b, 3) == 12.0f);
  float s[2] = {0, std::log(3.0f)};
  ref.softmax(s, 2);
  CHECK(s[0] == doctest::Approx(0.25));
  CHECK(s[1] == doctest::Approx(0.75));
}
