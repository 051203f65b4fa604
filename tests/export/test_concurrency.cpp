// One loaded model, many threads: FP32, INT8 and low-bit (.qtm, used in place)
// translations from several std::threads at once equal the single-threaded
// ones id for id. Also built with ThreadSanitizer (scripts/test-sanitizers.sh).
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "export/qtm_writer.h"
#include "model/qtm.h"
#include "quantize/int8_model.h"
#include "runtime/translator.h"
#include "tests/export/tiny_models.h"
#include "tests/test_paths.h"
#include "util/file.h"

using namespace qtool;
namespace fs = std::filesystem;

namespace {

struct Loaded {
  std::shared_ptr<const runtime::MarianModel> model;
  std::shared_ptr<const Vocabulary> vocab;
};

Loaded from_qtm(const std::string& path) {
  QtmModel q = read_qtm(path);
  MarianWeights w = qtm_weights(q, path);
  return {std::make_shared<const runtime::MarianModel>(w),
          std::make_shared<const Vocabulary>(q.vocab, w.config.vocab_size, w.config.decoder_vocab_size)};
}

using Ids = std::vector<std::vector<int>>;

// Translates `lines` in chunks from `threads` threads at once, each thread going
// through every chunk (from a different start, greedy and beam alternating), and
// counts the chunks whose ids or text differ from the single-threaded result.
int concurrent_mismatches(const Loaded& m, const std::vector<std::string>& lines, int threads) {
  const runtime::Translator tr(m.model, m.vocab);
  runtime::TranslateOptions opts[2];
  for (auto& o : opts) o.progress = false, o.batch_size = 4;
  opts[1].search.beam_size = 3;
  const size_t chunk = 6, chunks = (lines.size() + chunk - 1) / chunk;
  auto sources = [&](size_t c) {
    std::vector<std::vector<int>> s;
    for (size_t i = c * chunk; i < std::min(lines.size(), (c + 1) * chunk); ++i) s.push_back(tr.encode_source(lines[i]));
    return s;
  };
  std::vector<Ids> want[2];
  for (int o = 0; o < 2; ++o)
    for (size_t c = 0; c < chunks; ++c) want[o].push_back(tr.translate_ids(sources(c), opts[o]));

  std::atomic<int> mismatches{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      // Two threads each: one call's products hold the runtime's pool at a
      // time, the others' run on their own thread.
      const runtime::ThreadLimit two(2);
      for (size_t k = 0; k < chunks; ++k) {
        const size_t c = (k + size_t(t)) % chunks;
        const int o = int((k + size_t(t)) % 2);
        const Ids got = tr.translate_ids(sources(c), opts[o]);
        bool same = got == want[o][c];
        for (size_t i = 0; same && i < got.size(); ++i) same = m.vocab->decode(got[i]) == m.vocab->decode(want[o][c][i]);
        if (!same) ++mismatches;
      }
    });
  for (std::thread& th : pool) th.join();
  return mismatches;
}

std::vector<std::string> test_lines() {
  std::vector<std::string> lines = read_lines(test::source_dir() + "/data/ddtp-en-de/test.en");
  lines.resize(36);
  return lines;
}

// Made anew for each subcase (each runs the test case from the top).
fs::path scratch() {
  const fs::path p = fs::temp_directory_path() / ("qtool_concurrency_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

}  // namespace

TEST_CASE("concurrency: FP32, INT8 and low-bit models translate from 4 threads at once as from one") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const std::vector<std::string> lines = test_lines();

  SUBCASE("fp32, in memory") {
    Loaded m{std::make_shared<const runtime::MarianModel>(ck.weights),
             std::make_shared<const Vocabulary>(ck.vocab_files, 8000, 8000)};
    CHECK(concurrent_mismatches(m, lines, 4) == 0);
  }
  SUBCASE("int8 with INT8 embeddings, from a mapped .qtm") {
    MarianWeights w = ck.weights;
    quantize::Int8Options o;
    o.embeddings = true;
    quantize::quantize_linears_int8(w, o);
    const std::string path = (scratch() / "tiny.int8.qtm").string();
    exporter::write_qtm(path, w, ck.vocab_files, "{}");
    CHECK(concurrent_mismatches(from_qtm(path), lines, 4) == 0);
  }
  SUBCASE("low bit with clustered embeddings, from a mapped .qtm") {
    MarianWeights w = test::lowbit_tiny(ck);
    const std::string path = (scratch() / "tiny.lowbit.qtm").string();
    exporter::write_qtm(path, w, ck.vocab_files, "{}");
    CHECK(concurrent_mismatches(from_qtm(path), lines, 4) == 0);
  }
  fs::remove_all(scratch());
}

TEST_CASE("threads: 1, 2 and 3 threads translate id for id the same, greedy and beam 3") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const std::vector<std::string> lines = test_lines();
  auto same_at_any_threads = [&](const Loaded& m) {
    const runtime::Translator tr(m.model, m.vocab);
    std::vector<std::vector<int>> sources;
    for (const std::string& l : lines) sources.push_back(tr.encode_source(l));
    for (int beam : {1, 3}) {
      CAPTURE(beam);
      runtime::TranslateOptions o;
      o.progress = false;
      o.batch_size = 16;
      o.search.beam_size = beam;
      o.streams = 1;  // the threads split each product (automatic could give each its own batches)
      Ids want;
      {
        const runtime::ThreadLimit one(1);
        want = tr.translate_ids(sources, o);
      }
      for (int threads : {2, 3}) {
        const runtime::ThreadLimit limit(threads);
        CHECK(tr.translate_ids(sources, o) == want);
      }
    }
  };
  SUBCASE("fp32") {
    same_at_any_threads({std::make_shared<const runtime::MarianModel>(ck.weights),
                         std::make_shared<const Vocabulary>(ck.vocab_files, 8000, 8000)});
  }
  SUBCASE("int8") {
    MarianWeights w = ck.weights;
    quantize::quantize_linears_int8(w, {});
    same_at_any_threads({std::make_shared<const runtime::MarianModel>(w),
                         std::make_shared<const Vocabulary>(ck.vocab_files, 8000, 8000)});
  }
  SUBCASE("low bit") {
    const std::string path = (scratch() / "tiny.lowbit.qtm").string();
    MarianWeights w = test::lowbit_tiny(ck);
    exporter::write_qtm(path, w, ck.vocab_files, "{}");
    same_at_any_threads(from_qtm(path));
  }
  fs::remove_all(scratch());
}

TEST_CASE("concurrency: the translator's own parallel streams give the single-stream ids") {
  const checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const runtime::Translator tr(std::make_shared<const runtime::MarianModel>(ck.weights),
                               std::make_shared<const Vocabulary>(ck.vocab_files, 8000, 8000));
  std::vector<std::vector<int>> sources;
  for (const std::string& l : test_lines()) sources.push_back(tr.encode_source(l));
  runtime::TranslateOptions one;
  one.progress = false;
  one.batch_size = 4;
  runtime::TranslateOptions three = one;
  three.streams = 3;
  const auto want = tr.translate_ids(sources, one);
  CHECK(tr.translate_ids(sources, three) == want);
  three.search.beam_size = one.search.beam_size = 2;
  CHECK(tr.translate_ids(sources, three) == tr.translate_ids(sources, one));
}
