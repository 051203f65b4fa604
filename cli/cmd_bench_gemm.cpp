// `qtool bench-gemm`: the matrix products alone, at a model's shapes — FP32
// (oneDNN sgemm), INT8 (u8×s8 VNNI) and binary code at 2, 3 and 4 bits — each
// through its Linear, so activation quantization and dequantization are
// included. Weights are random (speed does not depend on their values).
#include <chrono>
#include <cstdio>
#include <random>

#include "cli/commands.h"
#include "model/config.h"
#include "quantize/binary_code.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/gemm_binary.h"
#include "runtime/kernels/gemm_int8.h"
#include "runtime/ops/linear_binary.h"
#include "runtime/ops/linear_int8.h"
#include "runtime/translator.h"
#include "util/file.h"

namespace qtool::cli {
namespace {

// Microseconds per forward call: repeated for at least 0.3 s, best of 3 rounds.
double time_forward(const runtime::Linear& l, int64_t m) {
  std::vector<float> x(m * l.in_features()), y(m * l.out_features());
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (float& v : x) v = n(rng);
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    int64_t calls = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < 0.1) {
      for (int i = 0; i < 10; ++i) l.forward(x.data(), m, y.data());
      calls += 10;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    best = std::min(best, elapsed * 1e6 / double(calls));
  }
  return best;
}

}  // namespace

void add_bench_gemm(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench-gemm", "Time FP32, INT8 and binary-code matrix products at a model's shapes");
  auto model = std::make_shared<std::string>();
  auto rows = std::make_shared<std::vector<int>>(std::vector<int>{1, 32});
  auto threads = std::make_shared<int>(1);
  cmd->add_option("--model", *model, "Checkpoint directory (its config.json gives the shapes)")->required();
  cmd->add_option("--rows", *rows, "Activation rows per product (M)")->capture_default_str();
  cmd->add_option("--threads", *threads, "Worker threads")->capture_default_str();
  cmd->callback([=] {
    const ModelConfig c = parse_model_config(read_text_file(*model + "/config.json"), *model + "/config.json");
    runtime::set_num_threads(*threads);
    const int64_t d = c.d_model;
    struct Shape {
      const char* what;
      int64_t out, in;
    };
    const std::vector<Shape> shapes = {{"q/k/v", 3 * d, d},          {"out_proj", d, d},
                                       {"fc1", c.decoder_ffn_dim, d}, {"fc2", d, c.decoder_ffn_dim},
                                       {"lm_head", c.decoder_vocab_size, d}};
    std::printf("kernels: %s; int8 %s; binary %s; %d thread(s)\n\n", runtime::kernel_description().c_str(),
                runtime::int8_kernels().name, runtime::binary_kernels().name, *threads);
    std::printf("| product | M | N×K | FP32 µs | INT8 µs | INT8 × | 4-bit µs | × | 3-bit µs | × | 2-bit µs | × |\n");
    std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 0.05f);
    for (const Shape& s : shapes) {
      LinearWeights lw;
      auto w = std::make_shared<Tensor>();
      w->shape = {s.out, s.in};
      w->data.resize(s.out * s.in);
      for (float& v : w->data) v = n(rng);
      auto b = std::make_shared<Tensor>();
      b->shape = {s.out};
      b->data.assign(s.out, 0.01f);
      lw.weight = w;
      lw.bias = b;
      runtime::LinearF32 f32({lw});
      LinearWeights qw = lw;
      qw.weight.reset();
      qw.int8 = std::make_shared<const Int8Tensor>(quantize_int8(*w));
      runtime::LinearInt8 i8({qw});
      std::vector<std::unique_ptr<runtime::LinearBinary>> bin;
      for (int bits : {4, 3, 2}) {
        LinearWeights bw = lw;
        bw.weight.reset();
        quantize::BinaryCodeOptions o;
        o.bits = bits;
        o.iterations = 0;
        bw.binary = std::make_shared<const BinaryCodeTensor>(
            quantize::quantize_binary_code(w->data.data(), s.out, s.in, o).tensor);
        bin.push_back(std::make_unique<runtime::LinearBinary>(std::vector<LinearWeights>{bw}));
      }
      for (int m : *rows) {
        const double tf = time_forward(f32, m), ti = time_forward(i8, m);
        std::printf("| %s | %d | %lld×%lld | %.1f | %.1f | %.2f", s.what, m, static_cast<long long>(s.out),
                    static_cast<long long>(s.in), tf, ti, tf / ti);
        for (const auto& l : bin) {
          const double t = time_forward(*l, m);
          std::printf(" | %.1f | %.2f", t, tf / t);
        }
        std::printf(" |\n");
      }
    }
  });
}

}  // namespace qtool::cli
