#include "checkpoint/safetensors.h"


#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "checkpoint/reader_util.h"
#include "util/error.h"
#include "util/mapped_file.h"

namespace qtool::checkpoint {
namespace {

using nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swaps here");

// The reference implementation's cap: a header is a few hundred bytes per tensor.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

enum class Dtype { F32, F16, BF16 };

struct DtypeInfo {
  const char* name;  // as spelled in the header
  Dtype dtype;
  uint64_t bytes;  // per element
};
constexpr DtypeInfo kDtypes[] = {{"F32", Dtype::F32, 4}, {"F16", Dtype::F16, 2}, {"BF16", Dtype::BF16, 2}};

// One header entry, validated on its own (the buffer-wide checks come later).
struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;  // data_offsets, relative to the byte buffer after the header
};

// IEEE 754 binary16 → binary32. Exact: every half is a float.
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;  // inf, or NaN with its payload kept
  } else if (exp != 0) {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;  // normal: rebias the exponent
  } else if (mant == 0) {
    bits = sign;  // ±0
  } else {
    // Subnormal mant·2^-24, normal as a float: shift the leading 1 into the
    // implicit bit; 2^-14 (the smallest normal half) has float exponent 113.
    uint32_t e = 127 - 14;
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      --e;
    }
    bits = sign | e << 23 | (mant & 0x3ff) << 13;
  }
  return std::bit_cast<float>(bits);
}

// bfloat16 is the top half of a binary32.
float bf16_to_float(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

// A JSON value for a message, cut short: a crafted header may hold huge arrays.
std::string brief(const json& v) {
  std::string s = v.dump();
  if (s.size() > 64) s = s.substr(0, 60) + " ...";
  return printable(s);
}

std::string offsets_str(uint64_t begin, uint64_t end) {
  return "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// Where a header key sits, for messages.
std::string describe(const std::string& key) {
  return key == "__metadata__" ? "'__metadata__'" : "tensor '" + printable(key) + "'";
}

// nlohmann keeps the last of duplicate keys without a word; serde (the
// reference) refuses them. A second "dtype" or "data_offsets" that one tool
// reads and another ignores is how two loaders come to disagree about a file,
// so every object's keys are tracked during the parse and a duplicate refused.
class DuplicateKeyCheck {
 public:
  bool on_event(json::parse_event_t event, const json& parsed) {
    if (event == json::parse_event_t::object_start) {
      open_.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      open_.pop_back();
    } else if (event == json::parse_event_t::key && !open_.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (open_.size() == 1) top_key_ = key;
      if (!open_.back().insert(key).second && message_.empty()) {
        message_ = open_.size() == 1 ? describe(key) + " appears twice in the header"
                                     : describe(top_key_) + ": field '" + printable(key) + "' appears twice";
      }
    }
    return true;  // keep every value
  }
  const std::string& message() const { return message_; }

 private:
  std::vector<std::unordered_set<std::string>> open_;  // keys of each object being parsed
  std::string top_key_;                                // the tensor being parsed
  std::string message_;                                // the first duplicate
};

json parse_header(const uint8_t* begin, uint64_t size, const std::string& file) {
  // nlohmann stops at a NUL as if the input ended, so "{...}\0anything" would
  // pass; the spec allows only trailing spaces as padding.
  if (const void* nul = std::memchr(begin, 0, size))
    fail(file, "header has a NUL byte at offset " +
                   std::to_string(static_cast<const uint8_t*>(nul) - begin) + " (padding must be spaces)");
  DuplicateKeyCheck duplicates;
  json header;
  try {
    header = json::parse(begin, begin + size, [&](int, json::parse_event_t event, json& parsed) {
      return duplicates.on_event(event, parsed);
    });
  } catch (const json::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (const size_t cut = what.find("] "); cut != std::string::npos) what.erase(0, cut + 2);
    fail(file, "header is not valid JSON: " + printable(what));
  }
  if (!header.is_object()) fail(file, "header must be a JSON object, got " + brief(header));
  if (!duplicates.message().empty()) fail(file, duplicates.message());
  return header;
}

void check_metadata(const json& v, const std::string& file) {
  if (!v.is_object()) fail(file, "'__metadata__' must be an object of strings, got " + brief(v));
  for (const auto& [key, value] : v.items())
    if (!value.is_string())
      fail(file, "'__metadata__': value of '" + printable(key) + "' must be a string, got " + brief(value));
}

Entry parse_entry(const std::string& name, const json& v, const std::string& file) {
  auto bad = [&](const std::string& what) { fail(file, describe(name) + ": " + what); };
  if (!v.is_object()) bad("entry must be an object {dtype, shape, data_offsets}, got " + brief(v));
  Entry e{name, nullptr, {}, 0, 0};

  const auto dtype = v.find("dtype");
  if (dtype == v.end()) bad("missing 'dtype'");
  if (!dtype->is_string()) bad("'dtype' must be a string, got " + brief(*dtype));
  for (const DtypeInfo& d : kDtypes)
    if (dtype->get_ref<const std::string&>() == d.name) e.dtype = &d;
  if (!e.dtype) bad("dtype " + brief(*dtype) + " is not supported (F32, F16 and BF16 are)");

  const auto shape = v.find("shape");
  if (shape == v.end()) bad("missing 'shape'");
  if (!shape->is_array()) bad("'shape' must be an array, got " + brief(*shape));
  std::vector<uint64_t> dims;
  for (const json& d : *shape) {
    if (!d.is_number_unsigned()) bad("'shape' entries must be non-negative integers, got " + brief(d));
    dims.push_back(d.get<uint64_t>());
  }
  const std::optional<uint64_t> count = checked_element_count(dims);
  if (!count) bad("shape " + brief(*shape) + " has too many elements");
  e.shape.assign(dims.begin(), dims.end());  // each dim ≤ the product that fits in int64

  const auto offsets = v.find("data_offsets");
  if (offsets == v.end()) bad("missing 'data_offsets'");
  if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    bad("'data_offsets' must be [begin, end] with non-negative integers, got " + brief(*offsets));
  e.begin = (*offsets)[0].get<uint64_t>();
  e.end = (*offsets)[1].get<uint64_t>();
  if (e.end < e.begin) bad(offsets_str(e.begin, e.end) + " end before they begin");

  uint64_t bytes;
  if (__builtin_mul_overflow(*count, e.dtype->bytes, &bytes) || bytes != e.end - e.begin)
    bad(offsets_str(e.begin, e.end) + " hold " + std::to_string(e.end - e.begin) + " bytes but " +
        e.dtype->name + " " + shape_str(e.shape) + " needs " + std::to_string(*count) + " × " +
        std::to_string(e.dtype->bytes));
  return e;
}

// The spec: "the byte buffer needs to be entirely indexed, and cannot contain
// holes". Sorted by offsets, each tensor must start where the previous ended.
void check_coverage(std::vector<const Entry*> sorted, uint64_t data_size, const std::string& file) {
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  uint64_t at = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : sorted) {
    if (e->begin != at) {
      const std::string after = previous ? describe(previous->name) + ", which ends at " + std::to_string(at)
                                         : "the start of the data";
      fail(file, describe(e->name) + ": " + offsets_str(e->begin, e->end) +
                     (e->begin < at ? " overlap " : " leave a hole after ") + after);
    }
    at = e->end;
    previous = e;
  }
  if (at != data_size)
    fail(file, "the last " + std::to_string(data_size - at) + " bytes of the data (" + std::to_string(data_size) +
                   " bytes) belong to no tensor");
}

// Source bytes converted at a time; with a mapped file, each piece's pages are
// released once converted, so a large tensor is never resident twice either.
constexpr size_t kConvertBytes = 1 << 20;

Tensor convert(const Entry& e, const uint8_t* src, const MappedFile* mapped) {
  Tensor t;
  t.shape = e.shape;
  t.data.resize((e.end - e.begin) / e.dtype->bytes);
  const size_t per_piece = kConvertBytes / e.dtype->bytes;
  for (size_t first = 0; first < t.data.size(); first += per_piece) {
    const size_t n = std::min(per_piece, t.data.size() - first);
    const uint8_t* from = src + first * e.dtype->bytes;
    // memcpy throughout: tensor data in a safetensors file need not be aligned.
    if (e.dtype->dtype == Dtype::F32) {
      std::memcpy(t.data.data() + first, from, n * 4);
    } else {
      const bool half = e.dtype->dtype == Dtype::F16;
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, from + 2 * i, 2);
        t.data[first + i] = half ? half_to_float(v) : bf16_to_float(v);
      }
    }
    if (mapped) mapped->release({from, n * e.dtype->bytes});
  }
  return t;
}

}  // namespace

TensorMap parse_safetensors(std::span<const uint8_t> bytes, const std::string& file, const MappedFile* mapped) {
  if (bytes.size() < 8)
    fail(file, "too short for a safetensors file (" + std::to_string(bytes.size()) +
                   " bytes; the header length alone takes 8)");
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);  // u64 little-endian
  if (header_len > kMaxHeaderBytes)
    fail(file, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  if (header_len > bytes.size() - 8)
    fail(file, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(bytes.size()) + " bytes)");
  const uint8_t* header_begin = bytes.data() + 8;
  const json header = parse_header(header_begin, header_len, file);

  // Every entry is checked before any tensor is allocated.
  const uint64_t data_size = bytes.size() - 8 - header_len;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      check_metadata(value, file);
      continue;
    }
    Entry e = parse_entry(name, value, file);
    if (e.end > data_size)
      fail(file, describe(name) + ": " + offsets_str(e.begin, e.end) + " run past the data (" +
                     std::to_string(data_size) + " bytes)");
    entries.push_back(std::move(e));
  }
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  check_coverage(std::move(by_offset), data_size, file);

  const uint8_t* data = header_begin + header_len;
  TensorMap tensors;
  for (const Entry& e : entries) tensors.emplace(e.name, convert(e, data + e.begin, mapped));
  return tensors;
}

TensorMap read_safetensors(const std::string& path) {
  // Mapped, not read, and each tensor's pages given back once copied: the
  // file's bytes and the tensors are never resident together.
  const std::shared_ptr<const MappedFile> map = MappedFile::open(path);
  return parse_safetensors(map->bytes(), path, map.get());
}

}  // namespace qtool::checkpoint
