// The .qtm loader: parse_qtm over the bytes, used in place as read_qtm uses a
// mapped file, then qtm_weights (config and every tensor resolved to its role).
// Every section carries a CRC-32, so a mutated byte inside one would almost
// always stop at "checksum mismatch"; each input is therefore tried twice, as
// is and with every checksum its header names recomputed, so the checks behind
// the checksums get fuzzed too.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "model/qtm.h"
#include "tests/fuzz/fuzz_util.h"
#include "util/crc32.h"

namespace {
using nlohmann::json;

void set_checksums(json& j, const uint8_t* data, size_t size) {
  if (j.is_object() && j.contains("offset") && j.contains("bytes") && j.contains("crc32") &&
      j["offset"].is_number_unsigned() && j["bytes"].is_number_unsigned()) {
    const uint64_t off = j["offset"], n = j["bytes"];
    if (off <= size && n <= size - off) j["crc32"] = qtool::crc32(data + off, n);
  }
  if (j.is_structured())
    for (auto& child : j) set_checksums(child, data, size);
}

// The input with its sections' checksums made right, or empty when its header
// cannot be read or the new header would not fit in the old one's bytes.
std::vector<uint8_t> with_checksums(const uint8_t* data, size_t size) {
  if (size < 24 || std::memcmp(data, qtool::kQtmMagic, 8) != 0) return {};
  uint64_t hlen;
  std::memcpy(&hlen, data + 16, 8);
  if (hlen > size - 24) return {};
  json h = json::parse(data + 24, data + 24 + hlen, nullptr, false);
  if (h.is_discarded()) return {};
  set_checksums(h, data, size);
  const std::string header = h.dump();
  if (header.size() > hlen) return {};
  std::vector<uint8_t> out(data, data + size);
  std::memcpy(out.data() + 24, header.data(), header.size());
  std::memset(out.data() + 24 + header.size(), ' ', hlen - header.size());  // JSON allows trailing spaces
  return out;
}

void load(const uint8_t* data, size_t size) {
  // In a 64-byte aligned buffer, as a mapped file's sections are.
  std::shared_ptr<uint8_t> bytes(static_cast<uint8_t*>(std::aligned_alloc(64, (size / 64 + 1) * 64)), std::free);
  std::memcpy(bytes.get(), data, size);
  // "m.qtm: …", or "m.qtm (config_json): …" for the config it carries.
  qtool::fuzz::expect_clean("m.qtm", [&] {
    qtool::QtmModel m = qtool::parse_qtm({bytes.get(), size}, "m.qtm", bytes);
    for (const auto& [name, in] : m.activations)
      qtool::fuzz::require(std::isnormal(in.threshold) && in.threshold > 0, "activation thresholds are normal floats");
    qtool::qtm_weights(m, "m.qtm");
  });
  // Without an owner the binary-code planes are copied instead.
  qtool::fuzz::expect_clean("m.qtm: ", [&] { qtool::parse_qtm({bytes.get(), size}, "m.qtm"); });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  load(data, size);
  const std::vector<uint8_t> fixed = with_checksums(data, size);
  if (!fixed.empty() && std::memcmp(fixed.data(), data, size) != 0) load(fixed.data(), fixed.size());
  return 0;
}
