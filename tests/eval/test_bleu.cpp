// BLEU against sacreBLEU 2.6.0's own answers (the kit's vectors and scores.json)
// and against 13a rules worked out by hand.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/bleu.h"
#include "tests/test_paths.h"
#include "util/error.h"
#include "util/file.h"

using namespace qtool;
using nlohmann::json;

TEST_CASE("13a: hand-derived cases") {
  // ASCII symbols are set apart; '.' and ',' stay inside numbers; a dash after a digit splits.
  CHECK(eval::tokenize_13a("Hello, world!") == "Hello , world !");
  CHECK(eval::tokenize_13a("1,000.5 and 3-4") == "1,000.5 and 3 - 4");
  CHECK(eval::tokenize_13a("a-b") == "a-b");
  CHECK(eval::tokenize_13a("end.") == "end .");
  CHECK(eval::tokenize_13a("x.5") == "x . 5");   // preceded by a non-digit
  CHECK(eval::tokenize_13a("5.x") == "5 . x");   // followed by a non-digit
  CHECK(eval::tokenize_13a("Grüße, Köln.") == "Grüße , Köln .");
  CHECK(eval::tokenize_13a("„Zitat“ – ok") == "„Zitat“ – ok");  // non-ASCII punctuation stays
  CHECK(eval::tokenize_13a("&lt;b&gt; &amp; &quot;q&quot;") == "< b > & \" q \"");
  CHECK(eval::tokenize_13a("  spaced\u00a0out \t") == "spaced out");
  CHECK(eval::tokenize_13a("") == "");
}

TEST_CASE("BLEU: hand-computed corpus") {
  // hyp "a b c d", ref "a b c e": 1-grams 3/4, 2-grams 2/3, 3-grams 1/2, 4-grams 0/1 → exp smoothing 100/(2·1)
  eval::BleuScore s = eval::corpus_bleu({"a b c d"}, {"a b c e"});
  CHECK(s.precisions[0] == doctest::Approx(75.0));
  CHECK(s.precisions[1] == doctest::Approx(200.0 / 3));
  CHECK(s.precisions[2] == doctest::Approx(50.0));
  CHECK(s.precisions[3] == doctest::Approx(50.0));
  CHECK(s.score == doctest::Approx(std::exp((std::log(75.0) + std::log(200.0 / 3) + 2 * std::log(50.0)) / 4)));
  CHECK(s.bp == 1.0);
  CHECK_THROWS_AS(eval::corpus_bleu({"a"}, {"a", "b"}), Error);
}

TEST_CASE("13a and corpus BLEU: sacreBLEU's vectors") {
  if (!test::have_shared()) {
    MESSAGE("../shared not present; sacreBLEU vectors skipped");
    return;
  }
  const std::string dir = test::shared_dir() + "/data/bleu-vectors/";
  int n = 0;
  for (const std::string& l : read_lines(dir + "tokenize-13a.jsonl")) {
    if (l.empty()) continue;
    json j = json::parse(l);
    CAPTURE(l);
    CHECK(eval::tokenize_13a(j["input"].get<std::string>()) == j["tokens_13a"].get<std::string>());
    ++n;
  }
  CHECK(n > 10);
  json cases = json::parse(read_text_file(dir + "corpus-bleu.json"));
  for (const json& c : cases) {
    CAPTURE(c["name"].get<std::string>());
    eval::BleuScore s = eval::corpus_bleu(c["hyp"].get<std::vector<std::string>>(),
                                          c["ref"].get<std::vector<std::string>>());
    CHECK(s.line() == c["line"].get<std::string>());
    CHECK(s.score == doctest::Approx(c["score"].get<double>()).epsilon(1e-9));
  }
}

TEST_CASE("corpus BLEU: the kit's scores.json lines") {
  if (!test::have_shared()) {
    MESSAGE("../shared not present; kit BLEU lines skipped");
    return;
  }
  const auto refs = read_lines(test::shared_dir() + "/data/ddtp-en-de/test.de");
  for (const char* m : {"ddtp-en-de-small", "ddtp-en-de-tiny", "ddtp-en-de-opus-tiny"}) {
    const std::string dir = test::shared_dir() + "/models/" + m + "/reference/";
    json scores = json::parse(read_text_file(dir + "scores.json"));
    for (const char* kind : {"greedy", "beam4"}) {
      CAPTURE(m);
      CAPTURE(kind);
      eval::BleuScore s = eval::corpus_bleu(read_lines(dir + "test." + kind + ".de"), refs);
      CHECK(s.line() == scores[std::string("test_bleu_") + kind + "_fp32_signature"].get<std::string>());
    }
    eval::BleuScore q = eval::corpus_bleu(read_lines(dir + "test.greedy.torch-int8.de"), refs);
    CHECK(q.score == doctest::Approx(scores["test_bleu_greedy_torch_dynamic_int8"].get<double>()).epsilon(0.0002));
  }
}
