// The one vocabulary path: SentencePiece pieces → ids through vocab.json.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/vocabulary.h"
#include "tests/test_paths.h"
#include "util/error.h"
#include "util/file.h"

using namespace qtool;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
VocabularyFiles bundled() { return VocabularyFiles::from_directory(test::bundled_model()); }

std::string error_of(const VocabularyFiles& f, int rows = 8000) {
  try {
    Vocabulary v(f, rows, rows);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("vocabulary: joint layout is the identity on SentencePiece ids") {
  Vocabulary v(bundled(), 8000, 8000);
  CHECK(v.eos_id() == 0);
  CHECK(v.unk_id() == 1);
  CHECK(v.pad_id() == 2);
  std::vector<int> ids = v.encode("This package contains the documentation.");
  REQUIRE(ids.size() >= 2);
  CHECK(ids.back() == 0);
  CHECK(v.decode(ids) == "This package contains the documentation.");
}

TEST_CASE("vocabulary: ids go through vocab.json, missing pieces become <unk>") {
  VocabularyFiles f = bundled();
  json table = json::parse(f.vocab_json);
  Vocabulary identity(f, 8000, 8000);
  const std::vector<std::string> pieces = identity.source_pieces("the package");
  REQUIRE(pieces.size() >= 2);
  // Swap the ids of the first two pieces: encode must follow the table.
  const int a = table[pieces[0]], b = table[pieces[1]];
  table[pieces[0]] = b;
  table[pieces[1]] = a;
  f.vocab_json = table.dump();
  Vocabulary swapped(f, 8000, 8000);
  std::vector<int> ids = swapped.encode("the package");
  CHECK(ids[0] == b);
  CHECK(ids[1] == a);
  CHECK(swapped.decode(ids) == "the package");

  // A piece missing from the table → <unk>; then the table has a gap, so fill it
  // by renaming the piece instead of deleting it.
  table = json::parse(bundled().vocab_json);
  const int id = table[pieces[0]];
  table.erase(pieces[0]);
  table["▁not-a-piece-of-the-model"] = id;
  f.vocab_json = table.dump();
  Vocabulary missing(f, 8000, 8000);
  CHECK(missing.encode("the package")[0] == 1);
  // Decoding that id: the SentencePiece model does not know the piece, so it
  // comes out verbatim; its "▁" becomes a space (dropped at the start), as
  // transformers' MarianTokenizer gives.
  const int package = table[pieces[1]];
  CHECK(missing.decode({id, package, 0}) == "not-a-piece-of-the-model package");
  CHECK(missing.decode({package, id, 0}) == "package not-a-piece-of-the-model");
}

TEST_CASE("vocabulary: tokenizer shares follow the table; missing pieces count for <unk>, </s> ranks first") {
  VocabularyFiles f = bundled();
  Vocabulary v(f, 8000, 8000);
  const std::vector<double> source = v.tokenizer_shares(false), target = v.tokenizer_shares(true);
  REQUIRE(source.size() == 8000);
  CHECK(source == target);  // one joint model and table
  double total = 0.0;
  for (double s : source) total += s;
  // The NORMAL pieces sum to 1; </s> adds the largest share once more.
  CHECK(total - source[v.eos_id()] == doctest::Approx(1.0));
  CHECK(source[v.eos_id()] == *std::max_element(source.begin(), source.end()));
  CHECK(source[v.pad_id()] == 0.0);
  // The joint layout is the identity: the most frequent piece's share moves
  // with its id when the table swaps it, and to <unk> when the table lacks it.
  int top = -1;
  for (int id = 0; id < 8000; ++id)
    if (id != v.eos_id() && (top < 0 || source[id] > source[top])) top = id;
  json table = json::parse(f.vocab_json);
  std::string top_piece;
  for (const auto& [piece, id] : table.items())
    if (id == top) top_piece = piece;
  REQUIRE(!top_piece.empty());
  table.erase(top_piece);
  table["▁not-a-piece-of-the-model"] = top;
  f.vocab_json = table.dump();
  Vocabulary missing(f, 8000, 8000);
  const std::vector<double> m = missing.tokenizer_shares(false);
  CHECK(m[top] == 0.0);
  CHECK(m[v.unk_id()] == doctest::Approx(source[v.unk_id()] + source[top]));
}

TEST_CASE("vocabulary: the reference ids decode to the reference text") {
  // Every greedy output of the bundled model, and of the kit's models when
  // present: target SentencePiece decoding of the pieces, special tokens
  // dropped, as the kit defines it (MarianTokenizer.decode also strips: one
  // line of opus-tiny's ends in a space).
  std::vector<std::string> dirs = {test::bundled_model()};
  for (const char* m : {"ddtp-en-de-small", "ddtp-en-de-opus-tiny"})
    if (test::have_shared()) dirs.push_back(test::shared_dir() + "/models/" + m);
  for (const std::string& dir : dirs) {
    const json config = json::parse(read_text_file(dir + "/config.json"));
    const int rows = config.at("vocab_size");
    Vocabulary v(VocabularyFiles::from_directory(dir), rows, config.value("decoder_vocab_size", rows));
    const std::vector<std::string> ids = read_lines(dir + "/reference/test.greedy.ids");
    const std::vector<std::string> text = read_lines(dir + "/reference/test.greedy.de");
    REQUIRE(ids.size() == text.size());
    size_t same = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      std::vector<int> line;
      std::istringstream in(ids[i]);
      for (int x; in >> x;) line.push_back(x);
      same += v.decode(line) == text[i];
    }
    CHECK_MESSAGE(same == ids.size(), dir << ": " << same << "/" << ids.size() << " lines decode to the reference text");
  }
}

TEST_CASE("vocabulary: malformed tables are refused with the file named") {
  VocabularyFiles f = bundled();
  json table = json::parse(f.vocab_json);
  CHECK(error_of(f, 7999).find("vocab.json: has 8000 entries but the model's embedding has 7999 rows") !=
        std::string::npos);
  json gap = table;
  gap["</s>"] = 9000;
  f.vocab_json = gap.dump();
  CHECK(error_of(f).find("ids must be 0..") != std::string::npos);
  json dup = table;
  dup["</s>"] = 5;
  f.vocab_json = dup.dump();
  CHECK(error_of(f).find("is used twice") != std::string::npos);
  json no_pad = table;
  const int pad = no_pad["<pad>"];
  no_pad.erase("<pad>");
  no_pad["<padding>"] = pad;
  f.vocab_json = no_pad.dump();
  CHECK(error_of(f).find("special token '<pad>' is missing") != std::string::npos);
  f.vocab_json = "[1,2]";
  CHECK(error_of(f).find("vocab.json: must be a non-empty JSON object") != std::string::npos);
  f = bundled();
  f.source_spm = "not a model";
  CHECK(error_of(f).find("source.spm: not a SentencePiece model") != std::string::npos);
}

TEST_CASE("vocabulary: target_vocab.json is used when separate_vocabs is true") {
  VocabularyFiles f = bundled();
  json table = json::parse(f.vocab_json);
  Vocabulary joint(f, 8000, 8000);
  const std::vector<int> ids = joint.encode("the package");
  // A target table that maps the first piece's id to another piece.
  json target = table;
  std::string p0, other = "▁documentation";
  for (auto& [k, v] : table.items())
    if (v == ids[0]) p0 = k;
  const int other_id = target[other];
  target[p0] = other_id;
  target[other] = ids[0];
  f.target_vocab_json = target.dump();
  f.tokenizer_config_json = R"({"separate_vocabs": true})";
  Vocabulary sep(f, 8000, 8000);
  CHECK(sep.separate_vocabs());
  CHECK(sep.encode("the package") == ids);  // source side unchanged
  CHECK(sep.decode({ids[0]}) == "documentation");
  f.target_vocab_json.clear();
  CHECK(error_of(f).find("target_vocab.json: missing") != std::string::npos);
}

TEST_CASE("vocabulary: invalid UTF-8 and very long lines do not crash") {
  Vocabulary v(bundled(), 8000, 8000);
  std::vector<int> ids = v.encode(std::string("bad \xff\xfe bytes \xc3"));
  CHECK(ids.back() == 0);
  std::string longline;
  for (int i = 0; i < 5000; ++i) longline += "word ";
  CHECK(v.encode(longline).size() > 5000);
}

TEST_CASE("vocabulary: encode_target goes through the target SentencePiece and table") {
  const std::string de = "Dieses Paket enthält die Dokumentation für Übersetzer.";
  auto check_round_trip = [&](const Vocabulary& v) {
    const std::vector<int> ids = v.encode_target(de);
    REQUIRE(ids.size() >= 2);
    CHECK(ids.back() == v.eos_id());
    for (int id : ids) CHECK((id >= 0 && size_t(id) < v.target_size()));
    CHECK(v.decode(ids) == de);
  };
  Vocabulary joint(bundled(), 8000, 8000);
  check_round_trip(joint);
  // Joint layout: one SentencePiece model and one table, so both sides agree.
  CHECK(joint.encode_target(de) == joint.encode(de));

  if (test::have_shared()) {
    // OPUS-MT layout: German pieces from target.spm, ids through the one vocab.json
    // (6,787 entries, not SentencePiece's own 4,000 ids).
    Vocabulary opus(VocabularyFiles::from_directory(test::shared_dir() + "/models/ddtp-en-de-opus-tiny"), 6787, 6787);
    check_round_trip(opus);
    bool beyond_spm = false;
    for (int id : opus.encode_target(de)) beyond_spm |= id >= 4000;
    CHECK(beyond_spm);  // at least one id only the table can give
  }

  // separate_vocabs: the target table is used, not vocab.json.
  VocabularyFiles f = bundled();
  json table = json::parse(f.vocab_json);
  const std::vector<int> ids = joint.encode_target("the package");
  std::string p0;
  for (auto& [k, v] : table.items())
    if (v == ids[0]) p0 = k;
  json target = table;
  const int other_id = target["▁documentation"];
  target[p0] = other_id;
  target["▁documentation"] = ids[0];
  f.target_vocab_json = target.dump();
  f.tokenizer_config_json = R"({"separate_vocabs": true})";
  Vocabulary sep(f, 8000, 8000);
  const std::vector<int> sep_ids = sep.encode_target("the package");
  CHECK(sep_ids[0] == other_id);
  CHECK(std::equal(sep_ids.begin() + 1, sep_ids.end(), ids.begin() + 1, ids.end()));
  CHECK(sep.decode(sep_ids) == "the package");

  // A piece missing from the target table → <unk>.
  json missing = table;
  missing.erase(p0);
  missing["▁not-a-piece-of-the-model"] = ids[0];
  f.target_vocab_json = missing.dump();
  Vocabulary gap(f, 8000, 8000);
  CHECK(gap.encode_target("the package")[0] == gap.unk_id());
}

TEST_CASE("PieceIds finds every piece's id and nothing else") {
  // Prefixes of one another, bytes above 0x7f, and an empty piece: the sorted
  // lookup must compare whole pieces, not prefixes.
  const std::vector<std::string> pieces = {"\xe2\x96\x81" "ab", "a", "", "ab", "\xe2\x96\x81", "b", "abc", "\xff"};
  const qtool::PieceIds table(pieces, "vocab.json");
  REQUIRE(table.size() == pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    CHECK(table.piece(int(i)) == pieces[i]);
    CHECK(table.find(pieces[i]) == int(i));
  }
  for (const char* absent : {"abcd", "c", "\xe2\x96", "\xe2\x96\x81" "a", "B"}) CHECK(table.find(absent) == -1);
  CHECK(qtool::PieceIds().size() == 0);
  CHECK(qtool::PieceIds().find("a") == -1);
}
