// The public API (include/qtool/translator.h) on the bundled tiny model: the
// same translations as the runtime underneath and the reference outputs,
// hypotheses and scores, ids in and out, cancellation, concurrent calls
// (also under ThreadSanitizer: scripts/test-sanitizers.sh), checked options.
// Errors compared with the CLI's: test_errors.cpp.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "export/qtm_writer.h"
#include "pipeline/model_loader.h"
#include "qtool/translator.h"
#include "tests/test_paths.h"
#include "util/file.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> first_lines(const std::string& file, size_t n) {
  std::vector<std::string> lines = qtool::read_lines(file);
  lines.resize(std::min(n, lines.size()));
  return lines;
}
std::vector<std::string> test_source(size_t n) {
  return first_lines(qtool::test::source_dir() + "/data/ddtp-en-de/test.en", n);
}
std::string tiny() { return qtool::test::bundled_model(); }

fs::path scratch() {
  static const fs::path d = qtool::test::scratch_dir("qtool_api_test_");
  return d;
}

// What an internal runtime::Translator says for the same lines.
std::vector<std::string> runtime_translate(const std::vector<std::string>& lines, int beam) {
  qtool::runtime::TranslateOptions o;
  o.progress = false;
  o.search.beam_size = beam;
  return qtool::pipeline::load_model(tiny()).translator().translate(lines, o);
}

}  // namespace

TEST_CASE("translate gives the runtime's translations and the reference's") {
  const std::vector<std::string> lines = test_source(20);
  qtool::TranslatorOptions o;
  o.threads = 2;
  const qtool::Translator t(tiny(), o);
  const std::vector<std::string> greedy = t.translate(lines);
  CHECK(greedy == runtime_translate(lines, 1));
  const std::vector<std::string> ref = first_lines(tiny() + "/reference/test.greedy.de", lines.size());
  size_t same = 0;
  for (size_t i = 0; i < lines.size(); ++i) same += greedy[i] == ref[i];
  CHECK(same >= 19);  // the runtime matches transformers on ≥ 98% of lines (tests/e2e)

  o.beam_size = 4;
  CHECK(t.translate(lines, o) == runtime_translate(lines, 4));
}

TEST_CASE("a packed .qtm translates as its checkpoint") {
  const std::vector<std::string> lines = test_source(8);
  qtool::checkpoint::Checkpoint ck = qtool::checkpoint::load_checkpoint(tiny());
  const std::string qtm = (scratch() / "tiny.qtm").string();
  qtool::exporter::write_qtm(qtm, ck.weights, ck.vocab_files, "{}");
  CHECK(qtool::Translator(qtm).translate(lines) == qtool::Translator(tiny()).translate(lines));
  fs::remove_all(scratch());
}

TEST_CASE("hypotheses: n-best with scores, ids in and out") {
  const std::vector<std::string> lines = test_source(6);
  const qtool::Translator t(tiny());
  qtool::TranslatorOptions o;
  o.beam_size = 4;
  o.num_hypotheses = 3;
  const std::vector<std::string> best = t.translate(lines, o);
  const std::vector<qtool::TranslationResult> r = t.translate_batch(lines, o);
  REQUIRE(r.size() == lines.size());
  for (size_t i = 0; i < r.size(); ++i) {
    REQUIRE(r[i].hypotheses.size() == 3);
    CHECK(r[i].hypotheses[0].text == best[i]);
    CHECK(r[i].source_ids == t.encode(lines[i]));
    for (size_t k = 0; k < 3; ++k) {
      CHECK(t.decode(r[i].hypotheses[k].ids) == r[i].hypotheses[k].text);
      CHECK(r[i].hypotheses[k].score < 0);
      if (k > 0) CHECK(r[i].hypotheses[k].score <= r[i].hypotheses[k - 1].score);
    }
  }
  // Greedy scores on request; ids in give the same ids out.
  qtool::TranslatorOptions g;
  g.return_scores = true;
  std::vector<std::vector<int>> sources;
  for (const std::string& l : lines) sources.push_back(t.encode(l));
  const std::vector<std::vector<int>> ids = t.translate_ids(sources);
  const std::vector<qtool::TranslationResult> gr = t.translate_batch(lines, g);
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(gr[i].hypotheses.size() == 1);
    CHECK(gr[i].hypotheses[0].ids == ids[i]);
    CHECK(std::isfinite(gr[i].hypotheses[0].score));
    CHECK(gr[i].hypotheses[0].score < 0);
  }
  CHECK(t.translate_batch_ids(sources, g)[0].hypotheses[0].score == gr[0].hypotheses[0].score);
}

TEST_CASE("concurrent calls on one Translator give the single-threaded output") {
  const std::vector<std::string> lines = test_source(24);
  qtool::TranslatorOptions o;
  o.threads = 1;  // one OpenMP thread per call: 4 calls × a team would oversubscribe (and hide races from TSan)
  o.batch_size = 5;
  const qtool::Translator t(tiny(), o);
  qtool::TranslatorOptions beam = o;
  beam.beam_size = 3;
  const std::vector<std::string> want_greedy = t.translate(lines), want_beam = t.translate(lines, beam);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 2; ++rep) {
        const bool b = (k + rep) % 2 == 1;
        if (t.translate(lines, b ? beam : o) != (b ? want_beam : want_greedy)) ++mismatches;
      }
    });
  for (std::thread& th : threads) th.join();
  CHECK(mismatches == 0);
}

TEST_CASE("progress callback: counts, cancellation, the caller's own exception") {
  const std::vector<std::string> lines = test_source(10);
  qtool::TranslatorOptions o;
  o.batch_size = 3;
  o.threads = 2;
  const qtool::Translator t(tiny(), o);
  std::vector<size_t> seen;
  o.progress = [&](size_t done, size_t total) {
    CHECK(total == lines.size());
    seen.push_back(done);
    return true;
  };
  o.streams = 1;  // one batch at a time, in order
  t.translate(lines, o);
  CHECK(seen == std::vector<size_t>{3, 6, 9, 10});
  // Two streams (automatic: 4 batches, 2 threads) finish batches in either order;
  // the calls still come one at a time, counting up to the total.
  seen.clear();
  o.streams = 0;
  t.translate(lines, o);
  REQUIRE(seen.size() == 4);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(seen.back() == 10);

  o.progress = [](size_t done, size_t) { return done < 3; };
  CHECK_THROWS_WITH_AS(t.translate(lines, o), "qtool: error: translation cancelled", qtool::Error);
  struct Mine {};
  o.progress = [](size_t, size_t) -> bool { throw Mine{}; };
  CHECK_THROWS_AS(t.translate(lines, o), Mine);
}

TEST_CASE("errors: options and ids are checked before any work") {
  qtool::TranslatorOptions o;
  o.beam_size = 0;
  CHECK_THROWS_WITH_AS(qtool::Translator(tiny(), o), "qtool: error: beam_size: 0 not in range [1, 64]", qtool::Error);
  o = {};
  o.beam_size = 2;
  o.num_hypotheses = 3;
  CHECK_THROWS_WITH_AS(qtool::Translator(tiny(), o), "qtool: error: num_hypotheses: 3 not in range [1, 2]",
                       qtool::Error);
  o = {};
  o.quantize = "int4";
  CHECK_THROWS_WITH_AS(qtool::Translator(tiny(), o),
                       "qtool: error: quantize: \"int4\" is not one of none, int8, int8-tensor", qtool::Error);
  const qtool::Translator t(tiny());
  qtool::TranslatorOptions call;
  call.max_new_tokens = -1;
  CHECK_THROWS_WITH_AS(t.translate({"Hi."}, call), "qtool: error: max_new_tokens: -1 not in range [0, 100000]",
                       qtool::Error);
  CHECK_THROWS_WITH_AS(t.translate_ids({{5, 100000, 0}}),
                       "qtool: error: sources[0]: id 100000 is outside the source vocabulary (8000 ids)", qtool::Error);
  CHECK_THROWS_AS(t.translate_ids({{}}), qtool::Error);
  CHECK_THROWS_AS(t.decode({-1}), qtool::Error);
  CHECK(t.translate({}).empty());
}

TEST_CASE("version") {
  CHECK(std::string(qtool::version()) == QTOOL_VERSION_STRING);
  CHECK_FALSE(qtool::runtime_only());
  CHECK_FALSE(qtool::kernels().empty());
}

TEST_CASE("translator: the default length is the checkpoint's generation max_length − 1, as transformers") {
  // A copy of the tiny model whose generation_config says max_length 4: at most
  // 3 new tokens, the last of them the forced eos, so at most 2 ids come back.
  const fs::path dir = scratch() / "tiny-max-length-4";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(tiny()))
    if (e.is_regular_file()) fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
  std::string g = qtool::read_text_file((dir / "generation_config.json").string());
  const size_t at = g.find("\"max_length\"");
  REQUIRE(at != std::string::npos);
  g.replace(at, g.find_first_of(",}", at) - at, "\"max_length\": 4");
  qtool::write_file_atomic((dir / "generation_config.json").string(), g);

  const std::vector<std::string> src = test_source(20);
  const qtool::Translator short_model(dir.string()), full(tiny());
  std::vector<std::vector<int>> ids;
  for (const std::string& s : src) ids.push_back(full.encode(s));
  size_t longer = 0;
  for (const auto& out : short_model.translate_ids(ids)) CHECK(out.size() <= 2);
  for (const auto& out : full.translate_ids(ids)) longer += out.size() > 2;
  CHECK(longer > 10);  // the unchanged model's outputs are longer: the limit did it
  qtool::TranslatorOptions call;
  call.max_new_tokens = 10;  // an explicit length wins
  size_t over = 0;
  for (const auto& out : short_model.translate_ids(ids, call)) over += out.size() > 2;
  CHECK(over > 10);
}
