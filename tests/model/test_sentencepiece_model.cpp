// qtool's own SentencePiece tokenizer against libsentencepiece 0.1.97 (the
// oracle, linked only here): the same pieces from Encode and the same text
// from Decode, on the kit's corpus with the kit's models, on random strings,
// and with models trained here with other options (hand-made and malformed
// files: test_sentencepiece_files.cpp).
#include <doctest/doctest.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/sentencepiece_model.h"
#include "tests/model/sentencepiece_compare.h"
#include "tests/test_paths.h"
#include "util/file.h"

using namespace qtool;
using namespace qtool::test;
namespace fs = std::filesystem;

namespace {

// The kit's spm files, each distinct one once.
std::vector<std::string> kit_models() {
  std::vector<std::string> paths;
  std::set<std::string> seen;
  if (!test::have_shared()) return paths;
  for (const auto& dir : fs::directory_iterator(test::shared_dir() + "/models"))
    for (const char* name : {"source.spm", "target.spm"}) {
      const std::string path = dir.path().string() + "/" + name;
      if (fs::exists(path) && seen.insert(read_text_file(path)).second) paths.push_back(path);
    }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> kit_corpus() {
  std::vector<std::string> lines;
  for (const char* split : {"train", "dev", "test"})
    for (const char* lang : {"en", "de"}) {
      const auto part = lines_of(test::shared_dir() + "/data/ddtp-en-de/" + split + "." + lang);
      lines.insert(lines.end(), part.begin(), part.end());
    }
  return lines;
}

}  // namespace

TEST_CASE("sentencepiece: the kit's models encode and decode every corpus line as libsentencepiece does") {
  const std::vector<std::string> models = kit_models();
  if (models.empty()) {
    MESSAGE("skipped: no reference kit at " << test::shared_dir());
    return;
  }
  const std::vector<std::string> corpus = kit_corpus();
  REQUIRE(corpus.size() > 1000);
  for (const std::string& path : models) {
    const std::string bytes = read_text_file(path);
    const SentencePieceModel ours(bytes, path);
    const auto oracle = oracle_of(bytes);
    REQUIRE(ours.size() == size_t(oracle->GetPieceSize()));
    for (int id = 0; id < oracle->GetPieceSize(); ++id) CHECK(ours.piece_to_id(oracle->IdToPiece(id)) == id);
    CHECK(ours.piece_to_id("no such piece") == oracle->PieceToId("no such piece"));
    // A joint 8,000-piece model with its 240 KB charsmap: well under 1 MiB.
    MESSAGE(path << ": " << ours.size() << " pieces, " << ours.memory_bytes() << " bytes");
    CHECK(ours.memory_bytes() < (1u << 20));

    Comparison c{ours, *oracle, path};
    for (const std::string& line : corpus) c.text(line);
    RandomText r;
    compare_random(c, r, corpus, 3000);
    CHECK(c.encoded > corpus.size());
    CHECK(c.decoded > corpus.size());
    CHECK(c.differences == 0);
  }
}

TEST_CASE("sentencepiece: random strings exercise the character map") {
  const std::vector<std::string> models = kit_models();
  if (models.empty()) return;
  const SentencePieceModel ours(read_text_file(models[0]), models[0]);
  // Apart from whitespace (and "▁", which is whitespace once normalized), only
  // the charsmap changes valid UTF-8: count the random strings it rewrote.
  auto without_spaces = [](std::string s) {
    for (const std::string_view sp : {std::string_view("\xE2\x96\x81"), std::string_view(" ")})
      for (size_t at; (at = s.find(sp)) != std::string::npos;) s.erase(at, sp.size());
    return s;
  };
  RandomText r;
  int rewritten = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string text = r.unicode();
    std::string joined;
    for (const std::string& p : ours.encode(text)) joined += p;
    if (without_spaces(joined) != without_spaces(text)) ++rewritten;
  }
  MESSAGE(rewritten << " of 500 random strings rewritten by the charsmap");
  CHECK(rewritten > 50);
}

namespace {

// Trains a small model on `lines` with extra `options`, in a temporary directory.
std::string train(const std::vector<std::string>& lines, const std::string& options) {
  const fs::path dir = fs::temp_directory_path() / ("qtool-spm-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path input = dir / "corpus.txt";
  {
    std::ofstream out(input, std::ios::binary);
    for (const std::string& l : lines) out << l << '\n';
  }
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(
      "--input=" + input.string() + " --vocab_size=500 --num_threads=2 --minloglevel=2 " +
          // fewer, coarser EM rounds: training time only, encoding rules unchanged
          "--seed_sentencepiece_size=20000 --num_sub_iterations=1 --shrinking_factor=0.5 " + options,
      nullptr, &model);
  fs::remove_all(dir);
  REQUIRE_MESSAGE(status.ok(), options << ": " << status.ToString());
  return model;
}

}  // namespace

TEST_CASE("sentencepiece: models trained with other options encode and decode as libsentencepiece does") {
  if (!test::have_shared()) {
    MESSAGE("skipped: no reference kit at " << test::shared_dir());
    return;
  }
  // A few thousand lines of both languages, and the dev and test sets to compare on.
  std::vector<std::string> training = lines_of(test::shared_dir() + "/data/ddtp-en-de/train.en");
  const std::vector<std::string> german = lines_of(test::shared_dir() + "/data/ddtp-en-de/train.de");
  training.resize(std::min<size_t>(training.size(), 1500));
  training.insert(training.end(), german.begin(), german.begin() + std::min<size_t>(german.size(), 1500));
  std::vector<std::string> corpus;
  for (const char* f : {"dev.en", "dev.de", "test.en", "test.de"}) {
    const auto part = lines_of(test::shared_dir() + "/data/ddtp-en-de/" + f);
    corpus.insert(corpus.end(), part.begin(), part.end());
  }
  REQUIRE(corpus.size() > 1000);
  // A denormalizer rule and a normalizer rule of our own: "A" → "a" after
  // decoding; "ab" → "X" and "abc" → "YZ" (longest match) before encoding.
  const fs::path rules = fs::temp_directory_path() / ("qtool-spm-rules-" + std::to_string(::getpid()));
  fs::create_directories(rules);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }  // also when a REQUIRE ends the test
  } cleanup{rules};
  {
    std::ofstream(rules / "denorm.tsv") << "41\t61\n";
    std::ofstream(rules / "norm.tsv") << "61 62\t58\n61 62 63\t59 5A\n20\t20\n3000\t20\nFF21\t41\n";
  }
  auto pieces = [](const Oracle& o, std::string_view text) {
    std::vector<std::string> p;
    REQUIRE(o.Encode(text, &p).ok());
    return p;
  };
  auto joined = [&](const Oracle& o, std::string_view text) {
    std::string s;
    for (const std::string& p : pieces(o, text)) s += p;
    return s;
  };
  auto decoded = [](const Oracle& o, const std::vector<std::string>& p) {
    std::string s;
    REQUIRE(o.Decode(p, &s).ok());
    return s;
  };
  auto has = [](const std::vector<std::string>& v, const std::string& p) {
    return std::find(v.begin(), v.end(), p) != v.end();
  };
  const std::string space = "\xE2\x96\x81";  // "▁"
  // Each option, with a probe of the library's output showing that it took effect.
  const std::vector<std::pair<std::string, std::function<bool(const Oracle&)>>> variants = {
      {"--model_type=unigram",
       [&](const Oracle& o) { return joined(o, "ｈｅｌｌｏ  world") == space + "hello" + space + "world"; }},
      {"--model_type=bpe",
       [&](const Oracle& o) { return joined(o, " the package ") == space + "the" + space + "package"; }},
      {"--model_type=unigram --byte_fallback=true",
       [&](const Oracle& o) { return has(pieces(o, "\xF0\x9F\x98\x80"), "<0xF0>"); }},
      {"--model_type=bpe --byte_fallback=true",
       [&](const Oracle& o) { return has(pieces(o, "\xF0\x9F\x98\x80"), "<0x80>"); }},
      {"--model_type=unigram --user_defined_symbols=<sep>,the,▁and,ö,@@,c++ --control_symbols=<ctl>,<2de>",
       [&](const Oracle& o) {
         return has(pieces(o, "c++ within<sep>"), "c++") && o.IsControl(o.PieceToId("<ctl>"));
       }},
      {"--model_type=bpe --user_defined_symbols=<sep>,the,▁and,ö,@@",
       [&](const Oracle& o) { return has(pieces(o, "x@@y"), "@@"); }},
      {"--model_type=unigram --add_dummy_prefix=false",
       [&](const Oracle& o) { return joined(o, "a b") == "a" + space + "b"; }},
      {"--model_type=unigram --remove_extra_whitespaces=false",
       [&](const Oracle& o) { return joined(o, " a  b") == space + space + "a" + space + space + "b"; }},
      {"--model_type=bpe --remove_extra_whitespaces=false --add_dummy_prefix=false",
       [&](const Oracle& o) { return joined(o, "a  b ") == "a" + space + space + "b" + space; }},
      {"--model_type=unigram --normalization_rule_name=identity",
       [&](const Oracle& o) { return joined(o, "ｈ") == space + "ｈ"; }},
      {"--model_type=unigram --normalization_rule_name=nfkc",
       [&](const Oracle& o) { return joined(o, "\xEF\xAC\x81") == space + "fi"; }},
      {"--model_type=unigram --normalization_rule_name=nmt_nfkc_cf",
       [&](const Oracle& o) { return joined(o, "HeLLo") == space + "hello"; }},
      {"--model_type=unigram --treat_whitespace_as_suffix=true",
       [&](const Oracle& o) { return joined(o, "a b") == "a" + space + "b" + space; }},
      {"--model_type=bpe --treat_whitespace_as_suffix=true",
       [&](const Oracle& o) { return joined(o, "a b") == "a" + space + "b" + space; }},
      {"--model_type=unigram --split_digits=true --unk_surface=[UNK]",
       [&](const Oracle& o) {
         return decoded(o, {"a", "<unk>"}) == "a[UNK]" && !has(pieces(o, "1234"), "12");
       }},
      {"--model_type=unigram --normalization_rule_tsv=" + (rules / "norm.tsv").string() +
           " --denormalization_rule_tsv=" + (rules / "denorm.tsv").string(),
       [&](const Oracle& o) {
         return joined(o, "abc ab") == space + "YZ" + space + "X" && decoded(o, {space + "A"}) == "a";
       }},
  };
  const auto t0 = std::chrono::steady_clock::now();
  size_t compared = 0;
  for (const auto& [option, took_effect] : variants) {
    const std::string bytes = train(training, option);
    const SentencePieceModel ours(bytes, option);
    const auto oracle = oracle_of(bytes);
    CHECK_MESSAGE(took_effect(*oracle), option);
    REQUIRE(ours.size() == size_t(oracle->GetPieceSize()));
    for (int id = 0; id < oracle->GetPieceSize(); ++id) CHECK(ours.piece_to_id(oracle->IdToPiece(id)) == id);
    Comparison c{ours, *oracle, option};
    for (const std::string& line : corpus) c.text(line);
    RandomText r;
    compare_random(c, r, corpus, 700);
    CHECK_MESSAGE(c.differences == 0, option);
    compared += c.encoded;
  }
  MESSAGE(variants.size() << " trained models, " << compared << " strings encoded, "
                          << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                          << " s");
  CHECK(compared > variants.size() * corpus.size());
}

TEST_CASE("sentencepiece: piece shares are a unigram model's probabilities and a BPE model's merge order") {
  if (!test::have_shared()) {
    MESSAGE("skipped: no reference kit at " << test::shared_dir());
    return;
  }
  std::vector<std::string> training = lines_of(test::shared_dir() + "/data/ddtp-en-de/train.en");
  training.resize(std::min<size_t>(training.size(), 2000));
  const std::set<std::string> user_defined = {"<sep>", "the"};
  for (const std::string type : {"unigram", "bpe"}) {
    CAPTURE(type);
    const std::string bytes =
        train(training, "--model_type=" + type + " --user_defined_symbols=<sep>,the --control_symbols=<ctl>");
    const SentencePieceModel ours(bytes, type);
    const auto oracle = oracle_of(bytes);
    // The library's NORMAL pieces, with its scores: what the shares must come from.
    std::map<std::string, float> score;
    for (int id = 0; id < oracle->GetPieceSize(); ++id) {
      const std::string piece = oracle->IdToPiece(id);
      if (!oracle->IsUnknown(id) && !oracle->IsControl(id) && !oracle->IsUnused(id) && !oracle->IsByte(id) &&
          !user_defined.count(piece))
        score[piece] = oracle->GetScore(id);
    }
    const auto shares = ours.piece_shares();
    REQUIRE(shares.size() == score.size());
    double total = 0.0;
    for (const auto& [piece, share] : shares) {
      REQUIRE(score.count(std::string(piece)));
      total += share;
    }
    CHECK(total == doctest::Approx(1.0).epsilon(1e-9));
    // Any two pieces: shares in the scores' order (ties equal), and for a
    // unigram model in the ratio of their probabilities.
    const auto& [p0, s0] = shares.front();
    for (const auto& [piece, share] : shares) {
      const double d = score[std::string(piece)] - score[std::string(p0)];
      if (type == "unigram") {
        CHECK(share / s0 == doctest::Approx(std::exp(d)).epsilon(1e-9));
      } else {
        CHECK((d > 0) == (share > s0));
      }
    }
    if (type == "bpe") {  // Zipf's law over the merge order: the first piece twice the second's share
      std::vector<double> sorted;
      for (const auto& s : shares) sorted.push_back(s.second);
      std::sort(sorted.rbegin(), sorted.rend());
      CHECK(sorted[0] / sorted[1] == doctest::Approx(2.0));
      CHECK(sorted[0] / sorted[9] == doctest::Approx(10.0));
    }
  }
}
