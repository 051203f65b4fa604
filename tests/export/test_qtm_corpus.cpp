// The malformed-.qtm corpus: hand-made damage of every kind the loader checks,
// each refused on one line naming the file and the field. Value damage (NaN,
// infinite, negative or zero scales, a bad permutation) keeps a valid CRC-32,
// so the value check itself is what refuses it. docs/loader-rules.md lists them.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tests/export/qtm_edit.h"
#include "tests/export/tiny_models.h"

using namespace qtool;
using test::header_len;
using test::with_header;
using test::with_value;
using nlohmann::json;

namespace {

// The tiny model under the low-bit plan, packed once.
const std::vector<uint8_t>& packed_lowbit() {
  static std::vector<uint8_t> bytes = [] {
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
    MarianWeights w = test::lowbit_tiny(ck);
    const std::string path = (test::scratch() / "corpus.lowbit.qtm").string();
    exporter::write_qtm(path, w, ck.vocab_files, "{}");
    return read_binary_file(path);
  }();
  return bytes;
}

// Parsed, then resolved against its config: the whole loader.
std::string load_error(const std::vector<uint8_t>& bytes) {
  try {
    QtmModel q = parse_qtm(bytes, "m.qtm");
    qtm_weights(q, "m.qtm");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

struct Case {
  std::string name;
  std::vector<uint8_t> bytes;
  std::string expect;  // the field and what is wrong with it
};

std::vector<uint8_t> patched(std::vector<uint8_t> b, size_t at, const void* v, size_t n) {
  std::memcpy(b.data() + at, v, n);
  return b;
}

std::vector<uint8_t> edited(const std::vector<uint8_t>& b, const std::function<void(json&)>& f) { return with_header(b, f); }

const std::string fc1 = "model.encoder.layers.0.fc1.weight";
const std::string fc1_scales = "/tensors/" + fc1 + "/scales";

}  // namespace

TEST_CASE("qtm corpus: every case is refused on one line naming the file and the field") {
  const std::vector<uint8_t>& g = test::packed_tiny();
  const std::vector<uint8_t>& low = packed_lowbit();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const uint64_t hlen = header_len(g);
  const json h = test::header_of(g);
  const uint64_t data_start = h["vocab"]["source_spm"]["offset"];
  std::vector<Case> cases = {
      // Truncations, from nothing to one byte short.
      {"truncated: empty", {}, "too short for a .qtm header (0 bytes"},
      {"truncated: 7 bytes", {g.begin(), g.begin() + 7}, "too short for a .qtm header (7 bytes"},
      {"truncated: 23 bytes", {g.begin(), g.begin() + 23}, "too short for a .qtm header (23 bytes"},
      {"truncated: inside the header", {g.begin(), g.begin() + 24 + long(hlen) - 1}, "header length: "},
      {"truncated: at the first section", {g.begin(), g.begin() + long(data_start)}, "lies outside the data"},
      {"truncated: one byte short", {g.begin(), g.end() - 1}, "lies outside the data"},
      // Magic, version, reserved, header length.
      {"bad magic", patched(g, 0, "QTOOLQTX", 8), "magic: not a .qtm file"},
      {"safetensors given as .qtm", patched(g, 0, "\x10\0\0\0\0\0\0\0", 8), "magic: not a .qtm file"},
      {"newer version", patched(g, 8, "\x04\0\0\0", 4), "version: format version 4 was written by a newer qtool"},
      {"version 2^32-1", patched(g, 8, "\xff\xff\xff\xff", 4), "version: format version 4294967295 was written by a newer"},
      {"version 0", patched(g, 8, "\0\0\0\0", 4), "version: format version 0 is not valid"},
      {"reserved not 0", patched(g, 12, "\x01\0\0\0", 4), "reserved: bytes 12..15 must be 0"},
      {"header length over 64 MiB", patched(g, 16, "\0\0\0\x08\0\0\0\0", 8), "header length: 134217728 bytes is over"},
      {"header length 2^64-1", patched(g, 16, "\xff\xff\xff\xff\xff\xff\xff\xff", 8), "header length: 18446744073709551615"},
      {"header length 0", patched(g, 16, "\0\0\0\0\0\0\0\0", 8), "header is not valid JSON"},
      // The header's own fields.
      {"header an array", edited(g, [](json& x) { x = json::array(); }), "header must be a JSON object"},
      {"format not qtm", edited(g, [](json& x) { x["format"] = "gguf"; }), "format: the header must say \"qtm\""},
      {"header version disagrees", edited(g, [](json& x) { x["version"] = 1; }), "version: the header says 1, the file's"},
      {"config_json missing", edited(g, [](json& x) { x.erase("config_json"); }), "missing field 'config_json'"},
      {"tensors empty", edited(g, [](json& x) { x["tensors"] = json::object(); }), "field 'tensors' must be a non-empty object"},
      // Sections: fields, alignment, bounds, overflow, overlap, checksum.
      {"section without crc32", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["data"].erase("crc32"); }),
       "tensors.final_logits_bias.data: a section needs unsigned 'offset', 'bytes' and 'crc32'"},
      {"negative offset", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["data"]["offset"] = -64; }),
       "tensors.final_logits_bias.data: a section needs unsigned"},
      {"crc32 past 32 bits", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["data"]["crc32"] = 1ull << 32; }),
       "tensors.final_logits_bias.data.crc32: 4294967296 is not a 32-bit value"},
      {"unaligned offset", edited(g, [](json& x) { x["vocab"]["vocab_json"]["offset"] = x["vocab"]["vocab_json"]["offset"].get<uint64_t>() + 8; }),
       "vocab.vocab_json: offset"},
      {"section inside the header", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["data"]["offset"] = 0; }),
       "tensors.final_logits_bias.data: section [0, +32000) lies outside the data"},
      {"bytes overflow offset + bytes", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["data"]["bytes"] = ~0ull; }),
       "tensors.final_logits_bias.data: section ["},
      {"two tensors' scales overlap", edited(g, [](json& x) {
         x["tensors"]["model.encoder.layers.0.self_attn.k_proj.weight"]["scales"] =
             x["tensors"]["model.encoder.layers.0.self_attn.q_proj.weight"]["scales"];
       }), "_proj.weight.scales: overlaps tensors.model.encoder.layers.0.self_attn."},
      {"checksum: a flipped scale byte", [&] {
         std::vector<uint8_t> b = g;
         b[h["tensors"][fc1]["scales"]["offset"].get<uint64_t>() + 1] ^= 0x20;
         return b;
       }(), "tensors." + fc1 + ".scales: checksum mismatch"},
      {"checksum: a flipped tokenizer byte", [&] {
         std::vector<uint8_t> b = g;
         b[h["vocab"]["source_spm"]["offset"].get<uint64_t>() + 100] ^= 1;
         return b;
       }(), "vocab.source_spm: checksum mismatch"},
      // Tensor types and shapes.
      {"qtype not a string", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["qtype"] = 32; }),
       "tensors.final_logits_bias: 'qtype' must be a string"},
      {"wrong dtype: fp32 bytes as fp16", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["qtype"] = "fp16"; }),
       "tensors.final_logits_bias.data: 32000 bytes for 8000 fp16 values"},
      {"wrong dtype: fp16", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["qtype"] = "bf16"; }),
       "tensors.final_logits_bias.qtype: 'bf16' is not a known type"},
      {"wrong dtype: int8 bytes as fp32", edited(g, [&](json& x) { x["tensors"][fc1]["qtype"] = "fp32"; }),
       "tensors." + fc1 + ".data: 65536 bytes for 65536 fp32 values"},
      {"zero-sized dim", edited(g, [&](json& x) { x["tensors"][fc1]["shape"] = {0, 128}; }),
       "tensors." + fc1 + ".shape: a size of 0"},
      {"negative dim", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["shape"] = {-8000}; }),
       "tensors.final_logits_bias.shape: bad size -8000"},
      {"overflowing dims", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["shape"] = {1ull << 32, 1ull << 32, 1ull << 32}; }),
       "tensors.final_logits_bias.shape: too large"},
      {"five dims", edited(g, [](json& x) { x["tensors"]["final_logits_bias"]["shape"] = {1, 1, 1, 1, 8000}; }),
       "tensors.final_logits_bias: 'qtype' must be a string and 'shape' a list of 1 to 4 sizes"},
      {"int8 not a matrix", edited(g, [&](json& x) { x["tensors"][fc1]["shape"] = {2, 256, 128}; }),
       "tensors." + fc1 + ".shape: an int8 tensor is a matrix"},
      {"int8 scales missing", edited(g, [&](json& x) { x["tensors"][fc1].erase("scales"); }),
       "missing field 'tensors." + fc1 + ".scales'"},
      {"per-tensor type, per-row scales", edited(g, [&](json& x) { x["tensors"][fc1]["qtype"] = "int8/tensor"; }),
       "tensors." + fc1 + ".scales: 2048 bytes for 1 scales"},
      // INT8 scale values, with a valid checksum.
      {"NaN INT8 scale", with_value(g, fc1_scales, 0, nan), "tensors." + fc1 + ".scales: scale nan is not a positive finite"},
      {"+Inf INT8 scale", with_value(g, fc1_scales, 4, inf), "tensors." + fc1 + ".scales: scale inf is not"},
      {"negative INT8 scale", with_value(g, fc1_scales, 8, -0.01f), "tensors." + fc1 + ".scales: scale -0.010000 is not"},
      {"zero INT8 scale", with_value(g, fc1_scales, 12, 0.0f), "tensors." + fc1 + ".scales: scale 0.000000 is not"},
      {"negative zero INT8 scale", with_value(g, fc1_scales, 12, -0.0f), "tensors." + fc1 + ".scales: scale -0.000000 is not"},
      // Binary code: α values (valid checksum), bits, groups, planes, clusters.
      // (α are IEEE halves: 0x7e00 NaN, 0x7c00 +Inf, 0xfc00 −Inf.)
      {"NaN alpha", with_value(low, "/tensors/" + fc1 + "/alphas", 0, uint16_t(0x7e00)), "tensors." + fc1 + ".alphas: scale 0 is not finite"},
      {"+Inf alpha", with_value(low, "/tensors/" + fc1 + "/alphas", 2, uint16_t(0x7c00)), "tensors." + fc1 + ".alphas: scale 1 is not finite"},
      {"-Inf alpha", with_value(low, "/tensors/" + fc1 + "/alphas", 4, uint16_t(0xfc00)), "tensors." + fc1 + ".alphas: scale 2 is not finite"},
      {"unknown alpha type", edited(low, [&](json& x) { x["tensors"][fc1]["alpha_dtype"] = "f8"; }),
       "tensors." + fc1 + ".alpha_dtype: \"f8\" is not \"f16\" or \"f32\""},
      {"f32 alphas of f16 length", edited(low, [&](json& x) { x["tensors"][fc1]["alpha_dtype"] = "f32"; }),
       "tensors." + fc1 + ".alphas: "},
      {"bits 0", edited(low, [&](json& x) { x["tensors"][fc1]["bits"] = 0; }), "tensors." + fc1 + ".bits: 0 is not 1..4"},
      {"group size 6", edited(low, [&](json& x) { x["tensors"][fc1]["group_size"] = 6; }), "tensors." + fc1 + ".group_size: 6 is not"},
      {"planes for other rows", edited(low, [&](json& x) { x["tensors"][fc1]["shape"] = {528, 128}; }),
       "tensors." + fc1 + ".data: "},
      {"cluster of 0 rows", edited(low, [](json& x) { x["tensors"]["model.shared.weight"]["clusters"][0]["rows"] = 0; }),
       "tensors.model.shared.weight.clusters[0].rows: 0 is not a row count"},
      {"no clusters", edited(low, [](json& x) { x["tensors"]["model.shared.weight"]["clusters"] = json::array(); }),
       "tensors.model.shared.weight.clusters: must be a list of 1 to 16 clusters"},
      {"order not a permutation", with_value(low, "/tensors/model.shared.weight/order", 4, int32_t(0)),
       "tensors.model.shared.weight: order is not a permutation"},
      {"order out of range", with_value(low, "/tensors/model.shared.weight/order", 0, int32_t(-1)),
       "tensors.model.shared.weight: order is not a permutation"},
      // Static activation thresholds.
      {"threshold null (a NaN through JSON)", edited(g, [](json& x) { x["activations"]["model.encoder.layers.0.fc1"] = {{"threshold", nullptr}, {"one_sided", false}}; }),
       "activations.model.encoder.layers.0.fc1.threshold: null is not a positive threshold in [1e-30, 1e30]"},
      {"threshold negative", edited(g, [](json& x) { x["activations"]["model.encoder.layers.0.fc1"] = {{"threshold", -2.5}, {"one_sided", false}}; }),
       "activations.model.encoder.layers.0.fc1.threshold: -2.5 is not"},
      {"threshold past 1e30", edited(g, [](json& x) { x["activations"]["model.encoder.layers.0.fc1"] = {{"threshold", 1e39}, {"one_sided", false}}; }),
       "activations.model.encoder.layers.0.fc1.threshold: 1e+39 is not"},
      {"zero point 255", edited(g, [](json& x) { x["activations"]["model.encoder.layers.0.fc1"] = {{"threshold", 2.0}, {"one_sided", false}, {"zero_point", 255}}; }),
       "activations.model.encoder.layers.0.fc1.zero_point: 255 is not an integer in 1..254"},
      {"zero point beside one_sided", edited(g, [](json& x) { x["activations"]["model.encoder.layers.0.fc1"] = {{"threshold", 2.0}, {"one_sided", true}, {"zero_point", 3}}; }),
       "activations.model.encoder.layers.0.fc1.zero_point: 3 is not an integer in 1..254 beside one_sided false"},
      {"zero point not an integer", edited(g, [](json& x) { x["activations"]["model.encoder.layers.0.fc1"] = {{"threshold", 2.0}, {"one_sided", false}, {"zero_point", 1.5}}; }),
       "activations.model.encoder.layers.0.fc1.zero_point: 1.5 is not an integer"},
      {"fallback of another kind", edited(g, [](json& x) { x["int8_fallbacks"]["model.encoder.layers.0.fc1"] = {{"input", "int4"}}; }),
       "int8_fallbacks.model.encoder.layers.0.fc1.input: must be \"dynamic\" or \"fp32\""},
      {"threshold for no layer", edited(g, [](json& x) { x["activations"]["model.encoder.layers.9.fc1"] = {{"threshold", 2.0}, {"one_sided", false}}; }),
       "activations.model.encoder.layers.9.fc1: no such linear layer"},
      // The model inside: config and tensors resolved to their roles.
      {"config d_model 0", edited(g, [](json& x) {
         json c = json::parse(x["config_json"].get<std::string>());
         c["d_model"] = 0;
         x["config_json"] = c.dump();
       }), "field 'd_model' = 0 is out of range"},
      {"a role's tensor missing", edited(g, [](json& x) { x["tensors"].erase("model.encoder.layers.1.fc2.bias"); }),
       "missing tensor 'model.encoder.layers.1.fc2.bias'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string e = load_error(c.bytes);
    CAPTURE(e);
    CHECK(e.rfind("m.qtm", 0) == 0);
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e.find(c.expect) != std::string::npos);
  }
  MESSAGE(cases.size() << " malformed .qtm cases");
  CHECK(cases.size() >= 55);
}

TEST_CASE("qtm corpus: a negative alpha is a valid code (least squares may give one), and loads") {
  // α·s with α < 0 is the code with the signs flipped: nothing to refuse.
  const std::vector<uint8_t> b = with_value(packed_lowbit(), "/tensors/" + fc1 + "/alphas", 0, uint16_t(0xb400));  // α = −0.25
  CHECK(load_error(b) == "(accepted)");
}
