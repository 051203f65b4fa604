// The safetensors reader: a valid file built by hand, then one malformed file
// per failure class, each refused with the file and the tensor named.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "checkpoint/safetensors.h"
#include "tests/test_paths.h"
#include "util/error.h"

using namespace qtool;
using nlohmann::json;

namespace {

std::vector<uint8_t> build(const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  const uint64_t n = claimed_len ? claimed_len : header.size();
  std::vector<uint8_t> b(8);
  for (int i = 0; i < 8; ++i) b[i] = uint8_t(n >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  for (size_t i = 0; i < data_bytes; ++i) b.push_back(uint8_t(i));
  return b;
}

// Two F32 tensors: a [2, 2] at 0..16, b [3] at 16..28.
json valid_header() {
  return {{"a", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}}},
          {"b", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {16, 28}}}},
          {"__metadata__", {{"format", "pt"}}}};
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    checkpoint::parse_safetensors(bytes, "m.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("safetensors: a valid file parses, unaligned data included") {
  std::vector<uint8_t> b = build(valid_header().dump(), 28);
  TensorMap m = checkpoint::parse_safetensors(b, "m.safetensors");
  REQUIRE(m.size() == 2);
  CHECK(m["a"].shape == std::vector<int64_t>{2, 2});
  float first;
  const uint8_t raw[4] = {0, 1, 2, 3};
  std::memcpy(&first, raw, 4);
  CHECK(std::memcmp(&m["a"].data[0], &first, 4) == 0);
  CHECK(m["b"].numel() == 3);
}

TEST_CASE("safetensors: F16 and BF16 convert exactly") {
  json h = {{"h", {{"dtype", "F16"}, {"shape", {5}}, {"data_offsets", {0, 10}}}},
            {"g", {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {10, 14}}}}};
  std::vector<uint8_t> b = build(h.dump(), 0);
  for (uint16_t v : {0x3C00, 0xC000, 0x0001, 0x7C00, 0x3555, 0x3F80, 0xC080})
    b.push_back(uint8_t(v)), b.push_back(uint8_t(v >> 8));
  TensorMap m = checkpoint::parse_safetensors(b, "x");
  CHECK(m["h"].data[0] == 1.0f);
  CHECK(m["h"].data[1] == -2.0f);
  CHECK(m["h"].data[2] == std::ldexp(1.0f, -24));  // smallest subnormal half
  CHECK(std::isinf(m["h"].data[3]));
  CHECK(m["h"].data[4] == 0.333251953125f);  // 0x3555: 2^(13-15) · (1 + 0x155/1024)
  CHECK(m["g"].data[0] == 1.0f);
  CHECK(m["g"].data[1] == -4.0f);
}

TEST_CASE("safetensors: every malformed class is refused, naming file and tensor") {
  const std::string good = valid_header().dump();
  auto with = [&](const std::function<void(json&)>& edit, size_t data = 28) {
    json h = valid_header();
    edit(h);
    return build(h.dump(), data);
  };
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"empty file", {}, "too short"},
      {"truncated length", {1, 2, 3}, "too short"},
      {"header past end", build(good, 28, 1u << 20), "runs past the end of the file"},
      {"huge header", build(good, 28, ~0ull), "exceeds the 100 MB limit"},
      {"not JSON", build("{\"a\": [", 0), "header is not valid JSON"},
      {"not an object", build("[1, 2]", 0), "header must be a JSON object"},
      {"missing dtype", with([](json& h) { h["a"].erase("dtype"); }), "tensor 'a': missing or non-string 'dtype'"},
      {"missing shape", with([](json& h) { h["a"].erase("shape"); }), "tensor 'a': missing or non-array 'shape'"},
      {"missing offsets", with([](json& h) { h["b"].erase("data_offsets"); }), "tensor 'b': 'data_offsets'"},
      {"bad dtype", with([](json& h) { h["a"]["dtype"] = "I64"; }), "tensor 'a': dtype 'I64' is not supported"},
      {"negative dim", with([](json& h) { h["a"]["shape"] = {-2, 2}; }), "tensor 'a': shape entries must be non-negative"},
      {"size mismatch", with([](json& h) { h["a"]["shape"] = {2, 3}; }), "tensor 'a': data_offsets [0, 16] hold 16 bytes"},
      {"offsets past data", with([](json& h) { h["b"]["data_offsets"] = {16, 28}; }, 20), "tensor 'b': data_offsets [16, 28] run past the data (20 bytes)"},
      {"overflowing offsets", with([](json& h) { h["b"]["data_offsets"] = {16, ~0ull}; }), "tensor 'b'"},
      {"overflowing shape", with([](json& h) { h["a"]["shape"] = {1ull << 40, 1ull << 40}; }), "tensor 'a': shape"},
      {"overlap", with([](json& h) {
         h["b"]["data_offsets"] = {12, 24};
       }, 24), "overlaps"},
      {"hole", with([](json& h) { h["b"]["data_offsets"] = {20, 32}; }, 32), "tensor 'b' leaves a hole"},
      {"trailing bytes", with([](json&) {}, 40), "12 bytes that belong to no tensor"},
      {"end before begin", with([](json& h) { h["b"]["data_offsets"] = {28, 16}; }), "tensor 'b': data_offsets end < begin"},
      {"duplicate name", build(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       "tensor 'a' appears twice"},
      {"metadata not object", with([](json& h) { h["__metadata__"] = 3; }), "'__metadata__' must be an object"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string e = error_of(c.bytes);
    CAPTURE(e);
    CHECK(e.rfind("m.safetensors: ", 0) == 0);
    CHECK(e.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("safetensors: the bundled model reads in full") {
  TensorMap m = checkpoint::read_safetensors(test::bundled_model() + "/model.safetensors");
  CHECK(m.size() == 128);  // 129 header entries less __metadata__
  CHECK(m.at("model.shared.weight").shape == std::vector<int64_t>{8000, 128});
}
