// The hessian file: a round trip, and every malformed file refused on one line
// naming the file and the field.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "calibrate/hessian_file.h"
#include "util/error.h"

using namespace qtool;
using namespace qtool::calibrate;

namespace {

HessianSet sample() {
  HessianSet h;
  h.model_checksum = "crc32:01234567";
  h.sentences = 10;
  h.tensors["a.fc1"] = {2, 7, {2.0f, 0.5f, 0.5f, 1.0f}};
  h.tensors["a.fc2"] = {1, 3, {4.0f}};
  return h;
}

// Byte offset of tensor "a.fc1"'s values: magic, version, count, checksum, sentences, name, dim, rows.
constexpr size_t kValues = 8 + 4 + 4 + 4 + 14 + 8 + 4 + 5 + 8 + 8;

std::string refusal(const std::string& bytes) {
  try {
    parse_hessians(bytes, "h.bin");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.rfind("h.bin: ", 0) == 0);
    CHECK(m.find('\n') == std::string::npos);
    return m;
  }
  return "(accepted)";
}

template <class T>
void poke(std::string& s, size_t at, T v) {
  std::memcpy(&s[at], &v, sizeof v);
}

}  // namespace

TEST_CASE("hessian file: round trip") {
  const HessianSet h = parse_hessians(hessians_to_bytes(sample()), "h.bin");
  CHECK(h.model_checksum == "crc32:01234567");
  CHECK(h.sentences == 10);
  REQUIRE(h.tensors.size() == 2);
  CHECK(h.tensors.at("a.fc1").dim == 2);
  CHECK(h.tensors.at("a.fc1").rows == 7);
  CHECK(h.tensors.at("a.fc1").values == std::vector<float>{2.0f, 0.5f, 0.5f, 1.0f});
  CHECK(h.tensors.at("a.fc2").values == std::vector<float>{4.0f});
}

TEST_CASE("hessian file: malformed files are refused naming the field") {
  const std::string good = hessians_to_bytes(sample());
  struct Case {
    const char* name;
    std::function<void(std::string&)> edit;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"empty", [](std::string& s) { s.clear(); }, "h.bin: magic: the file ends early"},
      {"bad magic", [](std::string& s) { s[0] = 'X'; }, "h.bin: magic: not a qtool hessian file"},
      {"version 2", [](std::string& s) { poke<uint32_t>(s, 8, 2); }, "h.bin: version: 2 is not supported"},
      {"count 0", [](std::string& s) { poke<uint32_t>(s, 12, 0); }, "h.bin: count: 0 is not 1..4096"},
      {"checksum too long", [](std::string& s) { poke<uint32_t>(s, 16, 100000); },
       "h.bin: model_checksum: length 100000 is not 1..256"},
      {"sentences 0", [](std::string& s) { poke<int64_t>(s, 34, 0); }, "h.bin: sentences: 0 is not"},
      {"dim 0", [](std::string& s) { poke<int64_t>(s, kValues - 16, 0); }, "h.bin: tensors.a.fc1.dim: 0 is not 1..65536"},
      {"dim huge", [](std::string& s) { poke<int64_t>(s, kValues - 16, int64_t(1) << 40); },
       "h.bin: tensors.a.fc1.dim: 1099511627776 is not 1..65536"},
      {"dim too big for the file", [](std::string& s) { poke<int64_t>(s, kValues - 16, 4); },
       "h.bin: tensors.a.fc1.values: the file ends early"},
      {"rows 0", [](std::string& s) { poke<int64_t>(s, kValues - 8, 0); }, "h.bin: tensors.a.fc1.rows: 0 is not"},
      {"not finite", [](std::string& s) { poke<float>(s, kValues + 4, NAN); },
       "h.bin: tensors.a.fc1.values[0][1]: not finite"},
      {"not symmetric", [](std::string& s) { poke<float>(s, kValues + 4, 0.25f); },
       "h.bin: tensors.a.fc1.values[1][0]: the matrix is not symmetric"},
      {"negative diagonal", [](std::string& s) { poke<float>(s, kValues + 12, -1.0f); },
       "h.bin: tensors.a.fc1.values[1][1]: a diagonal entry is negative"},
      {"truncated", [](std::string& s) { s.resize(s.size() - 2); }, "h.bin: tensors.a.fc2.values: the file ends early"},
      {"trailing bytes", [](std::string& s) { s += "x"; }, "h.bin: trailing bytes after the last tensor"},
      {"duplicate name", [](std::string& s) { s[kValues + 16 + 4 + 4] = '1'; },  // a.fc2 → a.fc1
       "h.bin: tensors.a.fc1: appears twice"},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    std::string bytes = good;
    c.edit(bytes);
    const std::string m = refusal(bytes);
    CAPTURE(m);
    CHECK(m.rfind(c.expect, 0) == 0);
  }
}
