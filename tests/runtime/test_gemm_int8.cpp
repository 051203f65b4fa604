// The u8×s8→s32 kernels against a plain integer reference on the unpacked
// matrices, on random shapes with odd sizes, and the packing's column sums.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <tuple>

#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/gemm_int8.h"

using namespace qtool::runtime;

TEST_CASE("int8 gemm: every kernel equals the integer reference") {
  const std::vector<const Int8Kernels*> kernels = int8_kernels_runnable();
  for (const Int8Kernels* k : kernels) MESSAGE("testing int8 kernel " << std::string(k->name));
  MESSAGE("chosen: " << std::string(int8_kernels().name));
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> s8(-127, 127), u8(0, 255);
  for (auto [M, N, K] : std::vector<std::tuple<int, int, int>>{
           {1, 1, 1}, {1, 16, 4}, {3, 17, 5}, {4, 33, 7}, {5, 48, 64}, {7, 100, 129}, {32, 256, 256}, {9, 1000, 31}, {33, 2100, 40}}) {
    std::vector<int8_t> w(N * K);
    for (auto& v : w) v = int8_t(s8(rng));
    PackedS8 p = pack_s8(w.data(), N, K);
    const int64_t lda = p.k_quads * 4;
    std::vector<uint8_t> a(M * lda, 0);
    for (int m = 0; m < M; ++m)
      for (int k = 0; k < K; ++k) a[m * lda + k] = uint8_t(u8(rng));
    std::vector<int32_t> want(M * N);
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        int32_t s = 0;
        for (int k = 0; k < K; ++k) s += int32_t(a[m * lda + k]) * w[n * K + k];
        want[m * N + n] = s;
      }
    for (int n = 0; n < N; ++n) {
      int32_t s = 0;
      for (int k = 0; k < K; ++k) s += w[n * K + k];
      CHECK(p.col_sums[n] == s);
    }
    for (const Int8Kernels* kern : kernels) {
      CAPTURE(kern->name);
      CAPTURE(M);
      CAPTURE(N);
      CAPTURE(K);
      std::vector<int32_t> got(M * N, -1);
      kern->gemm_blocks(a.data(), M, lda, p, 0, p.n_blocks, got.data(), N);
      CHECK(got == want);
      // Any split of the column blocks writes exactly its columns.
      for (int64_t cut = 0; cut <= p.n_blocks; ++cut) {
        std::vector<int32_t> parts(M * N, -1);
        kern->gemm_blocks(a.data(), M, lda, p, 0, cut, parts.data(), N);
        for (int m = 0; m < M; ++m)
          for (int64_t n = std::min<int64_t>(16 * cut, N); n < N; ++n) REQUIRE(parts[m * N + n] == -1);
        if (cut < p.n_blocks) kern->gemm_blocks(a.data(), M, lda, p, cut, p.n_blocks, parts.data() + 16 * cut, N);
        REQUIRE(parts == want);
        // Written from column 16·cut on, into rows of their own width: nothing outside.
        const int64_t width = std::min<int64_t>(16 * (p.n_blocks - cut), N - std::min<int64_t>(16 * cut, N));
        std::vector<int32_t> own(M * width + 1, -1);
        if (cut < p.n_blocks) kern->gemm_blocks(a.data(), M, lda, p, cut, p.n_blocks, own.data(), width);
        for (int m = 0; m < M; ++m)
          for (int64_t j = 0; j < width; ++j) REQUIRE(own[m * width + j] == want[m * N + 16 * cut + j]);
        REQUIRE(own[M * width] == -1);
      }
      // On the runtime's threads: the whole product, and the epilogue covering
      // every column once with the span's results.
      for (int threads : {1, 2, 3}) {
        const ThreadLimit limit(threads);
        std::vector<int32_t> whole(M * N, -1);
        gemm_u8s8_s32(*kern, a.data(), M, lda, p, whole.data(), N);
        CHECK(whole == want);
        std::vector<int32_t> threaded(M * N, -1);
        std::vector<std::atomic<int>> seen(N);
        gemm_u8s8_s32(*kern, a.data(), M, lda, p, [&](int64_t c0, int64_t c1, const int32_t* acc, int64_t ld) {
          REQUIRE(ld >= c1 - c0);
          for (int64_t c = c0; c < c1; ++c) {
            seen[c].fetch_add(1);
            for (int m = 0; m < M; ++m) threaded[m * N + c] = acc[m * ld + c - c0];
          }
        });
        CHECK(threaded == want);
        for (int n = 0; n < N; ++n) REQUIRE(seen[n].load() == 1);
      }
    }
  }
}
