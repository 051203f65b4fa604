// Building damaged .qtm files for the tests: the bundled tiny model packed once
// (INT8 linears and embeddings), the header rewritten, a section's bytes
// replaced with its checksum kept valid.
#pragma once
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "export/qtm_writer.h"
#include "model/qtm.h"
#include "quantize/int8_model.h"
#include "tests/test_paths.h"
#include "util/crc32.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::test {

inline std::filesystem::path scratch() {
  static std::filesystem::path d = [] {
    std::filesystem::path p = std::filesystem::temp_directory_path() / ("qtool_qtm_" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    return p;
  }();
  return d;
}

// The bundled tiny model quantized (INT8 linears and embeddings) and written once.
inline const std::vector<uint8_t>& packed_tiny() {
  static std::vector<uint8_t> bytes = [] {
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(test::bundled_model());
    quantize::Int8Options o;
    o.embeddings = true;
    quantize::quantize_linears_int8(ck.weights, o);
    const std::string path = (scratch() / "tiny.qtm").string();
    exporter::write_qtm(path, ck.weights, ck.vocab_files, R"({"test": true})");
    return read_binary_file(path);
  }();
  return bytes;
}

inline std::string error_of(std::vector<uint8_t> bytes) {
  try {
    parse_qtm(bytes, "m.qtm");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline uint64_t header_len(const std::vector<uint8_t>& b) {
  uint64_t n;
  std::memcpy(&n, b.data() + 16, 8);
  return n;
}

// Moves every section descriptor's offset by `by` bytes.
inline void shift_sections(nlohmann::json& j, uint64_t by) {
  if (j.is_object() && j.contains("offset") && j.contains("bytes") && j.contains("crc32") && j["offset"].is_number_unsigned()) {
    j["offset"] = j["offset"].get<uint64_t>() + by;
  } else if (j.is_structured()) {
    for (auto& v : j) shift_sections(v, by);
  }
}

// Rewrites the header JSON (same length or not) and returns the new file. A
// header that outgrows the padding before the first section moves the data
// by a multiple of 64 (every descriptor's offset moved with it, before `edit`).
inline std::vector<uint8_t> with_header(const std::vector<uint8_t>& b, const std::function<void(nlohmann::json&)>& edit) {
  const uint64_t n = header_len(b), start = (24 + n + 63) / 64 * 64;
  const nlohmann::json original = nlohmann::json::parse(b.begin() + 24, b.begin() + 24 + n);
  nlohmann::json h = original;
  edit(h);
  uint64_t shift = 0;
  if (24 + h.dump().size() > start) {
    shift = (24 + h.dump().size() + 64 + 63) / 64 * 64 - start;  // 64 spare: offsets grow by a digit or two
    h = original;
    shift_sections(h, shift);
    edit(h);
  }
  std::string text = h.dump();
  REQUIRE(24 + text.size() <= start + shift);
  text.append(start + shift - 24 - text.size(), ' ');  // spaces: still the same JSON
  std::vector<uint8_t> out(b.begin(), b.begin() + 24);
  const uint64_t len = text.size();
  std::memcpy(out.data() + 16, &len, 8);
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), b.begin() + long(start), b.end());
  return out;
}

inline nlohmann::json header_of(const std::vector<uint8_t>& b) {
  return nlohmann::json::parse(b.begin() + 24, b.begin() + 24 + header_len(b));
}

// Writes `value` at byte `at` of the section `field` (a JSON pointer into the
// header, e.g. "/tensors/x/scales") and fixes that section's CRC-32, so the
// damage is seen by value checks, not by the checksum.
template <typename T>
std::vector<uint8_t> with_value(const std::vector<uint8_t>& b, const std::string& field, uint64_t at, T value) {
  const nlohmann::json sec = header_of(b).at(nlohmann::json::json_pointer(field));
  std::vector<uint8_t> out = b;
  const uint64_t off = sec.at("offset"), n = sec.at("bytes");
  REQUIRE(at + sizeof(T) <= n);
  std::memcpy(out.data() + off + at, &value, sizeof(T));
  const uint32_t crc = crc32(out.data() + off, n);
  return with_header(out, [&](nlohmann::json& h) { h[nlohmann::json::json_pointer(field + "/crc32")] = crc; });
}

}  // namespace qtool::test
