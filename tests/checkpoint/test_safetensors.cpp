// The safetensors reader: a valid file built by hand, then one malformed file
// per failure class, each refused with one line naming the file and the tensor.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "checkpoint/safetensors.h"
#include "tests/test_paths.h"
#include "util/error.h"

using namespace qtool;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxU64 = ~0ull;

// 8-byte little-endian header length (or `claimed_len`), the header, then
// `data_bytes` bytes counting up from 0.
std::vector<uint8_t> build(const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  const uint64_t n = claimed_len ? claimed_len : header.size();
  std::vector<uint8_t> b(8 + header.size() + data_bytes);
  for (int i = 0; i < 8; ++i) b[i] = uint8_t(n >> (8 * i));
  std::copy(header.begin(), header.end(), b.begin() + 8);
  for (size_t i = 0; i < data_bytes; ++i) b[8 + header.size() + i] = uint8_t(i);
  return b;
}

// Two F32 tensors: a [2, 2] at 0..16, b [3] at 16..28; 28 data bytes.
json valid_header() {
  return {{"a", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}}},
          {"b", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {16, 28}}}},
          {"__metadata__", {{"format", "pt"}}}};
}

// The valid file with one edit to its header and `data` data bytes.
std::vector<uint8_t> with(const std::function<void(json&)>& edit, size_t data = 28) {
  json h = valid_header();
  edit(h);
  return build(h.dump(), data);
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    checkpoint::parse_safetensors(bytes, "m.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

// Reference binary16 decoding from the definition: (-1)^s · m · 2^(e-25) with the
// implicit 1 for normals, m · 2^-24 for subnormals.
float half_reference(uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const float magnitude = e == 0    ? std::ldexp(float(m), -24)
                          : e == 31 ? (m ? NAN : INFINITY)
                                    : std::ldexp(float(1024 + m), e - 25);
  return h & 0x8000 ? -magnitude : magnitude;
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

TEST_CASE("safetensors: a valid file parses; data may be unaligned") {
  // The 11-byte header puts the data at offset 19: no tensor is 4-byte aligned.
  const std::vector<uint8_t> b = build(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})" + std::string(3, ' '), 4);
  REQUIRE((b.size() - 4) % 4 != 0);
  TensorMap one = checkpoint::parse_safetensors(b, "m.safetensors");
  const uint8_t raw[4] = {0, 1, 2, 3};
  CHECK(std::memcmp(one["a"].data.data(), raw, 4) == 0);

  TensorMap m = checkpoint::parse_safetensors(build(valid_header().dump(), 28), "m.safetensors");
  REQUIRE(m.size() == 2);  // __metadata__ is not a tensor
  CHECK(m["a"].shape == std::vector<int64_t>{2, 2});
  CHECK(m["b"].shape == std::vector<int64_t>{3});
  const uint8_t b0[4] = {16, 17, 18, 19};
  CHECK(std::memcmp(m["b"].data.data(), b0, 4) == 0);
}

TEST_CASE("safetensors: edge cases the spec allows") {
  SUBCASE("no tensors at all") { CHECK(checkpoint::parse_safetensors(build("{}", 0), "m").empty()); }
  SUBCASE("a scalar and an empty tensor") {
    TensorMap m = checkpoint::parse_safetensors(
        build(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
              R"("z":{"dtype":"BF16","shape":[4,0],"data_offsets":[4,4]}})", 4),
        "m");
    CHECK(m["s"].shape.empty());
    CHECK(m["s"].data.size() == 1);
    CHECK(m["z"].shape == std::vector<int64_t>{4, 0});
    CHECK(m["z"].data.empty());
  }
  SUBCASE("header padded with spaces") {
    CHECK(checkpoint::parse_safetensors(build(valid_header().dump() + "        ", 28), "m").size() == 2);
  }
}

TEST_CASE("safetensors: F16 and BF16 convert exactly") {
  const uint16_t f16[] = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x3555, 0x8000, 0x7C00, 0xFC00, 0x7E00};
  const uint16_t bf16[] = {0x3F80, 0xC080, 0x0001, 0x4049, 0x7F80, 0x7FC0};
  json h = {{"h", {{"dtype", "F16"}, {"shape", {11}}, {"data_offsets", {0, 22}}}},
            {"g", {{"dtype", "BF16"}, {"shape", {6}}, {"data_offsets", {22, 34}}}}};
  std::vector<uint8_t> b = build(h.dump(), 0);
  for (uint16_t v : f16) b.push_back(uint8_t(v)), b.push_back(uint8_t(v >> 8));
  for (uint16_t v : bf16) b.push_back(uint8_t(v)), b.push_back(uint8_t(v >> 8));
  TensorMap m = checkpoint::parse_safetensors(b, "x");
  const std::vector<float>& x = m["h"].data;
  CHECK(x[0] == 1.0f);
  CHECK(x[1] == -2.0f);
  CHECK(x[2] == std::ldexp(1.0f, -24));            // smallest subnormal
  CHECK(x[3] == 1023 * std::ldexp(1.0f, -24));     // largest subnormal
  CHECK(x[4] == std::ldexp(1.0f, -14));            // smallest normal
  CHECK(x[5] == 65504.0f);                         // largest finite
  CHECK(x[6] == 0.333251953125f);                  // 2^-2 · (1 + 0x155/1024)
  CHECK(bits_of(x[7]) == 0x80000000u);             // -0 keeps its sign
  CHECK(x[8] == INFINITY);
  CHECK(x[9] == -INFINITY);
  CHECK(std::isnan(x[10]));
  const std::vector<float>& y = m["g"].data;
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == -4.0f);
  CHECK(y[2] == std::ldexp(1.0f, -133));  // bf16 subnormal = float subnormal
  CHECK(y[3] == 3.140625f);
  CHECK(y[4] == INFINITY);
  CHECK(std::isnan(y[5]));
}

TEST_CASE("safetensors: all 65536 F16 values match the definition bit for bit") {
  json h = {{"h", {{"dtype", "F16"}, {"shape", {65536}}, {"data_offsets", {0, 131072}}}}};
  std::vector<uint8_t> b = build(h.dump(), 0);
  for (uint32_t v = 0; v < 65536; ++v) b.push_back(uint8_t(v)), b.push_back(uint8_t(v >> 8));
  const std::vector<float> x = checkpoint::parse_safetensors(b, "x")["h"].data;
  int mismatches = 0;
  for (uint32_t v = 0; v < 65536; ++v) {
    const float want = half_reference(uint16_t(v));
    const bool same = std::isnan(want) ? std::isnan(x[v]) && std::signbit(x[v]) == std::signbit(want)
                                       : bits_of(x[v]) == bits_of(want);
    if (!same && ++mismatches <= 5) FAIL_CHECK("F16 0x" << std::hex << v << " → " << x[v] << ", want " << want);
  }
  CHECK(mismatches == 0);
}

TEST_CASE("safetensors: every malformed class is refused on one line naming file and tensor") {
  const std::string good = valid_header().dump();
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  const std::vector<Case> cases = {
      // The 8-byte length and the header's bounds.
      {"empty file", {}, "too short for a safetensors file (0 bytes"},
      {"truncated length", {1, 2, 3}, "too short for a safetensors file (3 bytes"},
      {"header past end of file", build(good, 28, 1u << 20), "header length 1048576 runs past the end of the file"},
      {"header over the cap", build(good, 28, kMaxU64), "exceeds the 100 MB limit"},
      // The header's JSON.
      {"header not JSON", build("{\"a\": [", 0), "header is not valid JSON"},
      {"header not UTF-8", build("{\"\xff\": 1}", 0), "header is not valid JSON"},
      {"NUL hides trailing bytes", build(good + std::string(1, '\0') + "junk", 28), "NUL byte at offset"},
      {"header not an object", build("[1, 2]", 0), "header must be a JSON object"},
      {"duplicate tensor name", build(R"({"a":)" + entry + R"(,"a":)" + entry + "}", 4),
       "tensor 'a' appears twice in the header"},
      {"duplicate field", build(R"({"a":{"dtype":"I64","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4),
       "tensor 'a': field 'dtype' appears twice"},
      {"metadata not an object", with([](json& h) { h["__metadata__"] = 3; }), "'__metadata__' must be an object"},
      {"metadata value not a string", with([](json& h) { h["__metadata__"]["n"] = 1; }),
       "'__metadata__': value of 'n' must be a string"},
      // One entry's fields.
      {"entry not an object", with([](json& h) { h["a"] = {1, 2}; }), "tensor 'a': entry must be an object"},
      {"missing dtype", with([](json& h) { h["a"].erase("dtype"); }), "tensor 'a': missing 'dtype'"},
      {"dtype not a string", with([](json& h) { h["a"]["dtype"] = 4; }), "tensor 'a': 'dtype' must be a string"},
      {"unsupported dtype", with([](json& h) { h["a"]["dtype"] = "I64"; }), "tensor 'a': dtype \"I64\" is not supported"},
      {"unknown dtype", with([](json& h) { h["a"]["dtype"] = "f32"; }), "tensor 'a': dtype \"f32\" is not supported"},
      {"missing shape", with([](json& h) { h["a"].erase("shape"); }), "tensor 'a': missing 'shape'"},
      {"shape not an array", with([](json& h) { h["a"]["shape"] = 4; }), "tensor 'a': 'shape' must be an array"},
      {"negative dim", with([](json& h) { h["a"]["shape"] = {-2, -2}; }), "tensor 'a': 'shape' entries must be non-negative integers, got -2"},
      {"fractional dim", with([](json& h) { h["a"]["shape"] = {2.5, 2}; }), "tensor 'a': 'shape' entries must be non-negative integers, got 2.5"},
      {"shape overflows", with([](json& h) { h["a"]["shape"] = {1ull << 32, 1ull << 32, 0}; }), "tensor 'a': shape [4294967296,4294967296,0] has too many elements"},
      {"missing data_offsets", with([](json& h) { h["b"].erase("data_offsets"); }), "tensor 'b': missing 'data_offsets'"},
      {"data_offsets arity", with([](json& h) { h["b"]["data_offsets"] = {16, 28, 28}; }), "tensor 'b': 'data_offsets' must be [begin, end]"},
      {"negative offset", with([](json& h) { h["a"]["data_offsets"] = {-4, 12}; }), "tensor 'a': 'data_offsets' must be [begin, end]"},
      {"end before begin", with([](json& h) { h["b"]["data_offsets"] = {28, 16}; }), "tensor 'b': data_offsets [28, 16] end before they begin"},
      // Offsets against dtype × shape and against the buffer.
      {"span != dtype × shape", with([](json& h) { h["a"]["shape"] = {2, 3}; }), "tensor 'a': data_offsets [0, 16] hold 16 bytes but F32 [2, 3] needs 6 × 4"},
      {"offsets past the data", with([](json&) {}, 20), "tensor 'b': data_offsets [16, 28] run past the data (20 bytes)"},
      {"offsets overflow", with([](json& h) { h["b"]["data_offsets"] = {16, kMaxU64}; }), "tensor 'b': data_offsets [16, 18446744073709551615] hold"},
      {"empty tensor far away", with([](json& h) { h["z"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {kMaxU64, kMaxU64}}}; }),
       "tensor 'z': data_offsets [18446744073709551615, 18446744073709551615] run past the data"},
      {"overlapping tensors", with([](json& h) { h["b"]["data_offsets"] = {12, 24}; }, 24),
       "tensor 'b': data_offsets [12, 24] overlap tensor 'a', which ends at 16"},
      {"hole between tensors", with([](json& h) { h["b"]["data_offsets"] = {20, 32}; }, 32),
       "tensor 'b': data_offsets [20, 32] leave a hole after tensor 'a', which ends at 16"},
      {"hole at the start", with([](json& h) { h["a"]["data_offsets"] = {4, 20}; h["b"]["data_offsets"] = {20, 32}; }, 32),
       "tensor 'a': data_offsets [4, 20] leave a hole after the start of the data"},
      {"bytes after the last tensor", with([](json&) {}, 40), "the last 12 bytes of the data (40 bytes) belong to no tensor"},
      // A crafted name cannot break the one-line message.
      {"name with a newline", with([](json& h) { h["x\ny"] = {{"dtype", "I8"}}; }), "tensor 'x\\x0ay': dtype \"I8\""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string e = error_of(c.bytes);
    CAPTURE(e);
    CHECK(e.rfind("m.safetensors: ", 0) == 0);
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("safetensors: every truncation and every single-byte change gives a result or a qtool::Error") {
  const std::vector<uint8_t> good = build(valid_header().dump(), 28);
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK(error_of(std::vector<uint8_t>(good.begin(), good.begin() + n)).rfind("m.safetensors: ", 0) == 0);
  }
  // Any other exception escapes error_of and fails the test.
  for (size_t i = 0; i < good.size() - 28; ++i)
    for (const uint8_t v : {0x00, 0x22, 0x30, 0x5d, 0x7d, 0xff}) {
      std::vector<uint8_t> b = good;
      b[i] = v;
      error_of(b);
    }
}

TEST_CASE("safetensors: read_safetensors reads files and refuses what is not one") {
  TensorMap m = checkpoint::read_safetensors(test::bundled_model() + "/model.safetensors");
  CHECK(m.size() == 128);  // 129 header entries less __metadata__
  CHECK(m.at("model.shared.weight").shape == std::vector<int64_t>{8000, 128});

  const fs::path dir = fs::temp_directory_path() / ("qtool_st_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string empty = (dir / "empty.safetensors").string();
  std::ofstream(empty).close();
  auto message = [](const std::string& path) {
    try {
      checkpoint::read_safetensors(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK(message(empty) == empty + ": too short for a safetensors file (0 bytes; the header length alone takes 8)");
  CHECK(message(dir.string()) == dir.string() + ": not a regular file");
  const std::string absent = (dir / "absent.safetensors").string();
  CHECK(message(absent) == absent + ": cannot open: No such file or directory");
  fs::remove_all(dir);
}
