// The packed model: written, read back identical, translating on its own, and
// every kind of damage refused with the file and the field named.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "export/qtm_writer.h"
#include "model/qtm.h"
#include "quantize/int8_model.h"
#include "quantize/model_quantizer.h"
#include "runtime/translator.h"
#include "tests/error_text.h"
#include "tests/export/qtm_edit.h"
#include "tests/export/tiny_models.h"
#include "tests/resident.h"
#include "tests/test_paths.h"
#include "util/crc32.h"
#include "util/error.h"
#include "util/file.h"
#include "util/half.h"

using namespace qtool;
namespace fs = std::filesystem;

using test::error_of;
using test::header_len;
using test::packed_tiny;
using test::scratch;
using test::with_header;

namespace {

std::vector<std::string> translate(const std::string& qtm_path, const std::vector<std::string>& lines) {
  QtmModel q = read_qtm(qtm_path);
  MarianWeights w = qtm_weights(q, qtm_path);
  auto model = std::make_shared<const runtime::MarianModel>(w);
  auto vocab = std::make_shared<const Vocabulary>(q.vocab, w.config.vocab_size, w.config.decoder_vocab_size);
  runtime::TranslateOptions opt;
  opt.progress = false;
  return runtime::Translator(model, vocab).translate(lines, opt);
}


}  // namespace

TEST_CASE("qtm: written and read back; translates alone, like the in-memory model") {
  const std::vector<uint8_t>& bytes = packed_tiny();
  QtmModel q = parse_qtm(bytes, "tiny.qtm");
  CHECK(q.quantized.int8.count("model.shared.weight") == 1);      // INT8 embedding, shared with the output
  CHECK(q.quantized.int8.count("model.encoder.layers.0.fc1.weight") == 1);
  CHECK(q.fp32.count("model.encoder.layers.0.fc1.bias") == 1);
  CHECK(q.fp32.count("final_logits_bias") == 1);
  CHECK(q.quantization_json == R"({"test":true})");
  const fs::path alone = scratch() / "alone";
  fs::create_directories(alone);
  write_file_atomic((alone / "m.qtm").string(), std::string(bytes.begin(), bytes.end()));

  std::vector<std::string> lines = read_lines(test::source_dir() + "/data/ddtp-en-de/test.en");
  lines.resize(40);
  // The same quantization in memory, straight from the checkpoint.
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  quantize::Int8Options o;
  o.embeddings = true;
  quantize::quantize_linears_int8(ck.weights, o);
  auto model = std::make_shared<const runtime::MarianModel>(ck.weights);
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, 8000, 8000);
  runtime::TranslateOptions opt;
  opt.progress = false;
  CHECK(translate((alone / "m.qtm").string(), lines) == runtime::Translator(model, vocab).translate(lines, opt));
  // At d_model 128 the tokenizer files are a tenth of the packed model; 2.5x here, 3.6x for the small model.
  CHECK(bytes.size() * 5 < 2 * fs::file_size(test::bundled_model() + "/model.safetensors"));
}

TEST_CASE("qtm: damaged files are refused, naming the file and the field") {
  const std::vector<uint8_t>& good = packed_tiny();
  std::vector<uint8_t> b;
  struct Case {
    std::string name;
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", {}, "too short"});
  b = good;
  b[0] = 'X';
  cases.push_back({"bad magic", b, "bad magic"});
  b = good;
  b[8] = kQtmVersion + 1;
  cases.push_back({"newer version", b, "written by a newer qtool"});
  b = good;
  b[8] = 0;
  cases.push_back({"version 0", b, "version 0"});
  b = good;
  b[23] = 0x7f;
  cases.push_back({"header past end", b, "header length: "});
  cases.push_back({"truncated", std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2), "lies outside the data"});
  b = good;
  b[b.size() - 100] ^= 0x55;
  cases.push_back({"flipped byte", b, "checksum mismatch"});
  cases.push_back({"header not JSON", with_header(good, [](nlohmann::json& h) { h = "x"; }), "must be a JSON object"});
  cases.push_back({"no config", with_header(good, [](nlohmann::json& h) { h.erase("config_json"); }), "missing field 'config_json'"});
  cases.push_back({"no vocab", with_header(good, [](nlohmann::json& h) { h.erase("vocab"); }), "missing field 'vocab'"});
  cases.push_back({"bad qtype", with_header(good, [](nlohmann::json& h) {
                     h["tensors"]["final_logits_bias"]["qtype"] = "int3";
                   }), "tensors.final_logits_bias.qtype: 'int3'"});
  cases.push_back({"wrong shape", with_header(good, [](nlohmann::json& h) {
                     h["tensors"]["final_logits_bias"]["shape"] = {7999};
                   }), "tensors.final_logits_bias.data:"});
  cases.push_back({"zero dim", with_header(good, [](nlohmann::json& h) {
                     h["tensors"]["final_logits_bias"]["shape"] = {0};
                   }), "tensors.final_logits_bias.shape: a size of 0"});
  cases.push_back({"unaligned", with_header(good, [](nlohmann::json& h) {
                     h["tensors"]["final_logits_bias"]["data"]["offset"] = h["tensors"]["final_logits_bias"]["data"]["offset"].get<uint64_t>() + 4;
                   }), "not 64-byte aligned"});
  cases.push_back({"overflowing offset", with_header(good, [](nlohmann::json& h) {
                     h["tensors"]["final_logits_bias"]["data"]["offset"] = 0xffffffffffffffc0ull;
                     h["tensors"]["final_logits_bias"]["data"]["bytes"] = 128;
                   }), "lies outside the data"});
  cases.push_back({"overlap", with_header(good, [](nlohmann::json& h) {
                     h["tensors"]["model.encoder.layers.0.fc1.bias"]["data"] = h["tensors"]["model.encoder.layers.0.fc2.bias"]["data"];
                     h["tensors"]["model.encoder.layers.0.fc1.bias"]["shape"] = {128};
                   }), "overlaps"});
  {
    // A NaN scale with a correct checksum: refused by value, not by CRC.
    b = good;
    auto h = nlohmann::json::parse(b.begin() + 24, b.begin() + 24 + header_len(b));
    auto sc = h["tensors"]["model.encoder.layers.0.fc1.weight"]["scales"];
    const uint64_t off = sc["offset"];
    const float nan = std::nanf("");
    std::memcpy(b.data() + off, &nan, 4);
    b = with_header(b, [&](nlohmann::json& hh) {
      hh["tensors"]["model.encoder.layers.0.fc1.weight"]["scales"]["crc32"] = crc32(b.data() + off, sc["bytes"].get<uint64_t>());
    });
    cases.push_back({"NaN scale", b, "is not a positive finite number"});
  }
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string e = error_of(c.bytes);
    CAPTURE(e);
    CHECK(e.rfind("m.qtm: ", 0) == 0);
    CHECK(e.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("qtm: binary-code planes and clustered embeddings round-trip and are used in place") {
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  MarianWeights w = test::lowbit_tiny(ck);
  REQUIRE(w.decoder_embed_binary);
  CHECK(w.output.clustered == w.decoder_embed_binary);  // one quantized copy serves both roles
  CHECK(w.decoder[0].cross_attn.q.int8);
  CHECK(w.decoder[1].cross_attn.q.binary->bits == 2);
  CHECK(w.encoder[0].fc1.binary->bits == 3);
  // Cluster sizes 8000·{1,2,4}/7 (largest remainder): 1143, 2286, 4571 rows with 3, 2, 1 planes.
  REQUIRE(w.decoder_embed_binary->clusters.size() == 3);
  CHECK(w.decoder_embed_binary->clusters[0].rows == 1143);
  CHECK(w.decoder_embed_binary->clusters[2].bits == 1);
  CHECK(w.decoder_embed_binary->order[0] == 0);  // the most frequent id first

  const std::string path = (scratch() / "tiny.lowbit.qtm").string();
  exporter::write_qtm(path, w, ck.vocab_files, "{}");
  QtmModel q = read_qtm(path);
  REQUIRE(q.quantized.binary.count("model.encoder.layers.0.fc1.weight") == 1);
  CHECK(q.quantized.binary.at("model.encoder.layers.0.fc1.weight")->is_view());  // planes used where they lie
  REQUIRE(q.quantized.clustered.count("model.shared.weight") == 1);
  const BinaryCodeTensor& a = *w.encoder[0].fc1.binary;
  const BinaryCodeTensor& b = *q.quantized.binary.at("model.encoder.layers.0.fc1.weight");
  CHECK(std::memcmp(a.planes_data(), b.planes_data(), a.plane_words() * 8) == 0);
  CHECK(std::memcmp(a.alphas_data(), b.alphas_data(), a.alpha_count() * 4) == 0);  // halves, widened exactly
  const ClusteredBinaryEmbedding& ea = *w.decoder_embed_binary;
  const ClusteredBinaryEmbedding& eb = *q.quantized.clustered.at("model.shared.weight");
  REQUIRE(ea.clusters.size() == eb.clusters.size());
  for (size_t c = 0; c < ea.clusters.size(); ++c) {
    CAPTURE(c);
    CHECK(std::memcmp(ea.clusters[c].alphas_data(), eb.clusters[c].alphas_data(), ea.clusters[c].alpha_count() * 4) == 0);
    CHECK(std::memcmp(ea.clusters[c].planes_data(), eb.clusters[c].planes_data(), ea.clusters[c].plane_words() * 8) == 0);
  }
  for (const auto& [name, t] : q.quantized.binary) {
    CAPTURE(name);
    for (int64_t i = 0; i < t->alpha_count(); ++i) CHECK(t->alphas_data()[i] == round_to_half(t->alphas_data()[i]));
  }

  std::vector<std::string> lines = read_lines(test::source_dir() + "/data/ddtp-en-de/dev.en");
  lines.resize(30);
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, 8000, 8000);
  runtime::TranslateOptions opt;
  opt.progress = false;
  const auto in_memory = runtime::Translator(std::make_shared<const runtime::MarianModel>(w), vocab).translate(lines, opt);
  CHECK(translate(path, lines) == in_memory);
  int non_empty = 0;
  for (const std::string& s : in_memory) non_empty += !s.empty();
  CHECK(non_empty >= 25);

  // Damage inside a plane section or a bad "bits" is refused, naming the field.
  std::vector<uint8_t> bytes = read_binary_file(path);
  CHECK(error_of(with_header(bytes, [](nlohmann::json& h) {
          h["tensors"]["model.encoder.layers.0.fc1.weight"]["bits"] = 5;
        })).find("tensors.model.encoder.layers.0.fc1.weight.bits") != std::string::npos);
  CHECK(error_of(with_header(bytes, [](nlohmann::json& h) {
          h["tensors"]["model.shared.weight"]["clusters"][0]["rows"] = 1;
        })).find("model.shared.weight") != std::string::npos);
  const uint64_t off = nlohmann::json::parse(bytes.begin() + 24, bytes.begin() + 24 + header_len(bytes))["tensors"]
                           ["model.encoder.layers.0.fc1.weight"]["data"]["offset"];
  bytes[off + 3] ^= 0x10;
  CHECK(error_of(bytes).find("tensors.model.encoder.layers.0.fc1.weight.data: checksum mismatch") != std::string::npos);
}

TEST_CASE("qtm: read_qtm keeps no page of the file; sign planes come back as decoding reads them") {
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  const std::string lowbit = fs::canonical(scratch()).string() + "/resident.lowbit.qtm";
  const std::string int8 = fs::canonical(scratch()).string() + "/resident.int8.qtm";
  MarianWeights packed = test::lowbit_tiny(ck);
  exporter::write_qtm(lowbit, packed, ck.vocab_files, "{}");
  write_file_atomic(int8, std::string(packed_tiny().begin(), packed_tiny().end()));
  std::vector<std::string> lines = read_lines(test::source_dir() + "/data/ddtp-en-de/dev.en");
  lines.resize(3);
  for (const auto& [path, in_place] : {std::pair{lowbit, true}, std::pair{int8, false}}) {
    CAPTURE(path);
    QtmModel q = read_qtm(path);
    // Every section was checked and copied or left in place; none stays resident.
    CHECK(test::resident_kib_of(path) == 0);
    MarianWeights w = qtm_weights(q, path);
    auto vocab = std::make_shared<const Vocabulary>(q.vocab, w.config.vocab_size, w.config.decoder_vocab_size);
    runtime::TranslateOptions opt;
    opt.progress = false;
    runtime::Translator(std::make_shared<const runtime::MarianModel>(std::move(w)), vocab).translate(lines, opt);
    // Planes used in place are read from the mapping; INT8 weights were copied (packed).
    CHECK((test::resident_kib_of(path) > 0) == in_place);
  }
}

TEST_CASE("qtm: an OPUS-layout model (vocab.json ids, two SentencePiece models) translates alone") {
  if (!test::have_shared()) return;
  const std::string dir = test::shared_dir() + "/models/ddtp-en-de-opus-tiny";
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(dir);
  quantize::quantize_linears_int8(ck.weights, {});
  const fs::path alone = scratch() / "opus-alone";
  fs::create_directories(alone);
  const std::string path = (alone / "m.qtm").string();
  exporter::write_qtm(path, ck.weights, ck.vocab_files, "{}");
  std::vector<std::string> lines = read_lines(test::source_dir() + "/data/ddtp-en-de/dev.en");
  lines.resize(30);
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  runtime::TranslateOptions opt;
  opt.progress = false;
  const auto beside = runtime::Translator(std::make_shared<const runtime::MarianModel>(ck.weights), vocab).translate(lines, opt);
  CHECK(translate(path, lines) == beside);
  QtmModel q = read_qtm(path);
  CHECK(q.vocab.source_spm != q.vocab.target_spm);  // both SentencePiece models travel in the file
}

TEST_CASE("qtm: a tokenizer kept beside the file: written next to it, checked at load") {
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  MarianWeights w = test::lowbit_tiny(ck);
  const fs::path dir = scratch() / "beside";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string embedded = (scratch() / "embedded.qtm").string(), beside = (dir / "m.qtm").string();
  exporter::write_qtm(embedded, w, ck.vocab_files, "{}");
  exporter::write_qtm(beside, w, ck.vocab_files, "{}", {.tokenizer_beside = true});
  // The file is smaller by the tokenizer (a joint vocabulary's one SentencePiece
  // model, vocab.json and tokenizer_config.json, with their padding); the files sit
  // next to it as in the checkpoint.
  const int64_t tokenizer = int64_t(ck.vocab_files.source_spm.size() + ck.vocab_files.vocab_json.size() +
                                    ck.vocab_files.tokenizer_config_json.size());
  const int64_t saved = int64_t(fs::file_size(embedded)) - int64_t(fs::file_size(beside));
  CHECK(saved > tokenizer - 256);  // (the beside header names the files: a little longer)
  CHECK(saved < tokenizer + 1024);
  for (const char* f : {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json"}) {
    CAPTURE(f);
    CHECK(read_text_file((dir / f).string()) == read_text_file(test::bundled_model() + "/" + f));
  }
  CHECK(!fs::exists(dir / "target_vocab.json"));  // a joint vocabulary has none
  CHECK(read_qtm(beside).tokenizer_beside);
  std::vector<std::string> lines = read_lines(test::source_dir() + "/data/ddtp-en-de/dev.en");
  lines.resize(10);
  CHECK(translate(beside, lines) == translate(embedded, lines));

  SUBCASE("written again over its own tokenizer: the files are left as they are") {
    const auto before = fs::last_write_time(dir / "vocab.json");
    exporter::write_qtm(beside, w, ck.vocab_files, "{}", {.tokenizer_beside = true});
    CHECK(fs::last_write_time(dir / "vocab.json") == before);
  }
  SUBCASE("a different file already there is refused before anything is written") {
    write_file_atomic((dir / "vocab.json").string(), "{\"a\": 0}");
    const std::string other = (dir / "other.qtm").string();
    const std::string e = test::error_text([&] { exporter::write_qtm(other, w, ck.vocab_files, "{}", {.tokenizer_beside = true}); });
    CHECK(e.rfind((dir / "vocab.json").string() + ": exists and is not this model's vocab.json", 0) == 0);
    CHECK(!fs::exists(other));
    CHECK(read_text_file((dir / "vocab.json").string()) == "{\"a\": 0}");
  }
  SUBCASE("a missing or changed tokenizer file is refused at load, naming it") {
    fs::remove(dir / "source.spm");
    CHECK(test::error_text([&] { read_qtm(beside); }) ==
          beside + ": vocab.source_spm: " + (dir / "source.spm").string() +
              " is missing (this .qtm keeps its tokenizer beside it)");
    write_file_atomic((dir / "source.spm").string(), ck.vocab_files.source_spm + "x");
    const std::string e = test::error_text([&] { read_qtm(beside); });
    CHECK(e.rfind(beside + ": vocab.source_spm: " + (dir / "source.spm").string() +
                      " is not the file this model was written with",
                  0) == 0);
  }
  SUBCASE("the header's file names are checked: nothing outside the directory is read") {
    const std::vector<uint8_t> bytes = read_binary_file(beside);
    const std::vector<uint8_t> edited = with_header(bytes, [](nlohmann::json& h) {
      h["vocab"]["vocab_json"]["file"] = "../vocab.json";
    });
    write_file_atomic(beside, std::string(edited.begin(), edited.end()));
    CHECK(test::error_text([&] { read_qtm(beside); }) == beside + ": vocab.vocab_json.file: \"../vocab.json\" is not \"vocab.json\"");
  }
}

TEST_CASE("qtm: biases and LayerNorm parameters as halves (\"vectors\": \"fp16\")") {
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
  MarianWeights w = test::lowbit_tiny(ck);
  const std::string full = (scratch() / "vectors32.qtm").string(), half = (scratch() / "vectors16.qtm").string();
  exporter::write_qtm(full, w, ck.vocab_files, "{}");
  int64_t vector_values = 0;
  for (NamedLinear& l : linear_layers(w)) vector_values += int64_t(l.weights->bias->data.size());
  for (auto& [name, n] : layer_norms(w)) vector_values += int64_t(n->gamma->data.size() + n->beta->data.size());
  quantize::round_vectors_to_half(w);
  exporter::write_qtm(half, w, ck.vocab_files, "{}", {.vectors_f16 = true});
  // Two bytes saved per value, give or take each section's 64-byte padding.
  const int64_t saved = int64_t(fs::file_size(full)) - int64_t(fs::file_size(half));
  CHECK(saved > 2 * vector_values - 64 * 130);
  CHECK(saved < 2 * vector_values + 64 * 130);
  QtmModel q = read_qtm(half);
  const std::string bias = "model.decoder.layers.1.fc2.bias";
  REQUIRE(q.fp32.count(bias) == 1);
  CHECK(q.fp32.at(bias).data == w.decoder[1].fc2.bias->data);  // the halves, widened exactly
  CHECK(q.fp32.at("model.encoder.layers.0.final_layer_norm.weight").data == w.encoder[0].ffn_norm.gamma->data);
  CHECK(w.decoder[1].fc2.bias->data != ck.weights.decoder[1].fc2.bias->data);  // they were rounded
  std::vector<std::string> lines = read_lines(test::source_dir() + "/data/ddtp-en-de/dev.en");
  lines.resize(10);
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, 8000, 8000);
  runtime::TranslateOptions opt;
  opt.progress = false;
  CHECK(translate(half, lines) ==
        runtime::Translator(std::make_shared<const runtime::MarianModel>(w), vocab).translate(lines, opt));
  // A matrix cannot be fp16.
  const std::vector<uint8_t> bytes = read_binary_file(half);
  const std::vector<uint8_t> bad = with_header(bytes, [&](nlohmann::json& h) { h["tensors"][bias]["shape"] = {128, 2}; });
  CHECK(error_of(bad) == "m.qtm: tensors." + bias + ".shape: an fp16 tensor is a vector ([n] or [1, n])");
}
