#include "cli/bench_report.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/kernels/cpu_features.h"
#include "runtime/parallel.h"
#include "util/peak_rss.h"

namespace qtool::cli {

void print_bench(const BenchRun& r, bool as_json) {
  const runtime::TranslateStats& st = r.stats;
  const int64_t peak = peak_rss_bytes();
  if (as_json) {
    const nlohmann::json j = {
        {"model", r.model},
        {"model_file_bytes", r.model_file_bytes},
        {"sentences", st.sentences},
        {"source_tokens", st.source_tokens},
        {"target_tokens", st.target_tokens},
        {"load_seconds", r.load_seconds},
        {"wall_seconds", r.wall_seconds},
        {"target_tokens_per_second", st.target_tokens / r.wall_seconds},
        {"ms_per_sentence", 1000.0 * r.wall_seconds / st.sentences},
        {"peak_rss_bytes", peak},
        {"threads", runtime::num_threads()},
        {"streams", st.streams},
        {"batch", r.batch},
        {"beam", r.beam},
        {"kernels", runtime::kernel_description()},
    };
    std::cout << j.dump(1) << "\n";
    return;
  }
  std::printf("%lld sentences, %lld target tokens in %.3f s: %.1f tokens/s, %.2f ms/sentence, "
              "peak RSS %.1f MiB (%d threads, %d streams, batch %d, beam %d)\n%s\n",
              static_cast<long long>(st.sentences), static_cast<long long>(st.target_tokens), r.wall_seconds,
              st.target_tokens / r.wall_seconds, 1000.0 * r.wall_seconds / st.sentences, peak / 1048576.0,
              runtime::num_threads(), st.streams, r.batch, r.beam, runtime::kernel_description().c_str());
}

}  // namespace qtool::cli
