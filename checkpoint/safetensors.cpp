#include "checkpoint/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace qtool::checkpoint {
namespace {

using nlohmann::json;
constexpr uint64_t kMaxHeader = 100ull << 20;  // 100 MB, as the reference implementation caps it

// IEEE half → float, exact (subnormals, inf and NaN included).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct Entry {
  std::string name;
  size_t dtype_size;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

Entry parse_entry(const std::string& name, const json& v, const std::string& file) {
  auto bad = [&](const std::string& what) { fail(file, "tensor '" + name + "': " + what); };
  if (!v.is_object()) bad("entry must be an object");
  Entry e;
  e.name = name;
  if (!v.contains("dtype") || !v["dtype"].is_string()) bad("missing or non-string 'dtype'");
  e.dtype = v["dtype"].get<std::string>();
  if (e.dtype == "F32") e.dtype_size = 4;
  else if (e.dtype == "F16" || e.dtype == "BF16") e.dtype_size = 2;
  else bad("dtype '" + e.dtype + "' is not supported (F32, F16, BF16)");
  if (!v.contains("shape") || !v["shape"].is_array()) bad("missing or non-array 'shape'");
  uint64_t count = 1;
  for (const json& d : v["shape"]) {
    if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers, got " + d.dump());
    const uint64_t x = d.get<uint64_t>();
    if (x > (1ull << 40) || mul_overflows(count, x, &count)) bad("shape " + v["shape"].dump() + " overflows");
    e.shape.push_back(static_cast<int64_t>(x));
  }
  if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2 ||
      !v["data_offsets"][0].is_number_unsigned() || !v["data_offsets"][1].is_number_unsigned())
    bad("'data_offsets' must be [begin, end] with non-negative integers");
  e.begin = v["data_offsets"][0].get<uint64_t>();
  e.end = v["data_offsets"][1].get<uint64_t>();
  if (e.end < e.begin) bad("data_offsets end < begin");
  uint64_t bytes;
  if (mul_overflows(count, e.dtype_size, &bytes) || bytes != e.end - e.begin)
    bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] hold " +
        std::to_string(e.end - e.begin) + " bytes but " + e.dtype + " " + v["shape"].dump() + " needs " +
        std::to_string(count) + " × " + std::to_string(e.dtype_size));
  return e;
}

}  // namespace

TensorMap parse_safetensors(std::span<const uint8_t> bytes, const std::string& file) {
  if (bytes.size() < 8) fail(file, "too short for a safetensors header (" + std::to_string(bytes.size()) + " bytes)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | bytes[i];
  if (header_len > kMaxHeader) fail(file, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  if (header_len > bytes.size() - 8)
    fail(file, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(bytes.size()) + " bytes)");
  const uint8_t* hdr = bytes.data() + 8;
  // Duplicate keys are refused: nlohmann's parser would silently keep the last.
  std::string duplicate;
  std::vector<std::string> top_keys;
  json::parser_callback_t cb = [&](int d, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && d == 1) {
      const std::string k = parsed.get<std::string>();
      if (std::find(top_keys.begin(), top_keys.end(), k) != top_keys.end()) duplicate = k;
      top_keys.push_back(k);
    }
    return true;
  };
  json h;
  try {
    h = json::parse(hdr, hdr + header_len, cb);
  } catch (const json::parse_error& e) {
    fail(file, std::string("header is not valid JSON: ") + e.what());
  }
  if (!h.is_object()) fail(file, "header must be a JSON object");
  if (!duplicate.empty()) fail(file, "tensor '" + duplicate + "' appears twice in the header");

  const uint64_t data_size = bytes.size() - 8 - header_len;
  std::vector<Entry> entries;
  for (const auto& [name, v] : h.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(file, "'__metadata__' must be an object");
      continue;
    }
    entries.push_back(parse_entry(name, v, file));
    if (entries.back().end > data_size)
      fail(file, "tensor '" + name + "': data_offsets [" + std::to_string(entries.back().begin) + ", " +
                     std::to_string(entries.back().end) + "] run past the data (" +
                     std::to_string(data_size) + " bytes)");
  }
  // The buffer must be covered exactly: sorted by offset, each tensor starts where the last ended.
  std::vector<const Entry*> sorted;
  for (const Entry& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return a->begin < b->begin || (a->begin == b->begin && a->end < b->end);
  });
  uint64_t at = 0;
  for (const Entry* e : sorted) {
    if (e->begin < at) fail(file, "tensor '" + e->name + "' overlaps the previous tensor's data");
    if (e->begin > at)
      fail(file, "tensor '" + e->name + "' leaves a hole in the data before offset " + std::to_string(e->begin));
    at = e->end;
  }
  if (at != data_size)
    fail(file, "the data has " + std::to_string(data_size - at) + " bytes that belong to no tensor");

  const uint8_t* data = hdr + header_len;
  TensorMap tensors;
  for (const Entry& e : entries) {
    Tensor t;
    t.shape = e.shape;
    t.data.resize((e.end - e.begin) / e.dtype_size);
    const uint8_t* src = data + e.begin;
    if (e.dtype == "F32") {
      std::memcpy(t.data.data(), src, e.end - e.begin);  // memcpy: the data need not be aligned
    } else {
      for (size_t i = 0; i < t.data.size(); ++i) {
        const uint16_t h16 = uint16_t(src[2 * i] | src[2 * i + 1] << 8);
        t.data[i] = e.dtype == "F16" ? half_to_float(h16) : bf16_to_float(h16);
      }
    }
    tensors.emplace(e.name, std::move(t));
  }
  return tensors;
}

TensorMap read_safetensors(const std::string& path) {
  // Mapped, not read: the tensors are copied out once, so the file's bytes never
  // sit in memory twice.
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return parse_safetensors({}, path);
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{map, size};
  return parse_safetensors({static_cast<const uint8_t*>(map), size}, path);
}

}  // namespace qtool::checkpoint
