#include "calibrate/hessian_file.h"

#include <cmath>
#include <cstring>

#include "util/error.h"

namespace qtool::calibrate {
namespace {

constexpr char kMagic[8] = {'Q', 'T', 'H', 'E', 'S', 'S', 'N', '\0'};
constexpr uint32_t kVersion = 1, kMaxTensors = 4096, kMaxChecksum = 256, kMaxName = 1024;
constexpr int64_t kMaxDim = 65536;

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (as the .qtm writer)
  out.append(b, sizeof(T));
}

// Reads with bounds checks: a short file is refused by the field it cut off.
class Reader {
 public:
  Reader(const std::string& bytes, const std::string& file) : s_(bytes), file_(file) {}
  template <class T>
  T get(const std::string& field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, s_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(uint32_t max, const std::string& field) {
    const uint32_t n = get<uint32_t>(field + " length");
    if (n < 1 || n > max) fail(file_, field + ": length " + std::to_string(n) + " is not 1.." + std::to_string(max));
    need(n, field);
    std::string v = s_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  void need(size_t n, const std::string& field) const {
    if (s_.size() - pos_ < n) fail(file_, field + ": the file ends early (truncated?)");
  }
  size_t pos() const { return pos_; }
  void skip(size_t n) { pos_ += n; }
  bool done() const { return pos_ == s_.size(); }
  const char* at() const { return s_.data() + pos_; }

 private:
  const std::string& s_;
  const std::string& file_;
  size_t pos_ = 0;
};

}  // namespace

std::string hessians_to_bytes(const HessianSet& h) {
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, uint32_t(h.tensors.size()));
  put<uint32_t>(out, uint32_t(h.model_checksum.size()));
  out += h.model_checksum;
  put<int64_t>(out, h.sentences);
  for (const auto& [name, t] : h.tensors) {
    put<uint32_t>(out, uint32_t(name.size()));
    out += name;
    put<int64_t>(out, t.dim);
    put<int64_t>(out, t.rows);
    out.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
  }
  return out;
}

HessianSet parse_hessians(const std::string& bytes, const std::string& file) {
  Reader r(bytes, file);
  r.need(sizeof kMagic, "magic");
  if (std::memcmp(r.at(), kMagic, sizeof kMagic) != 0) fail(file, "magic: not a qtool hessian file");
  r.skip(sizeof kMagic);
  const uint32_t version = r.get<uint32_t>("version");
  if (version != kVersion)
    fail(file, "version: " + std::to_string(version) + " is not supported (this qtool reads version 1)");
  const uint32_t count = r.get<uint32_t>("count");
  if (count < 1 || count > kMaxTensors) fail(file, "count: " + std::to_string(count) + " is not 1..4096");
  HessianSet h;
  h.model_checksum = r.str(kMaxChecksum, "model_checksum");
  h.sentences = r.get<int64_t>("sentences");
  if (h.sentences < 1) fail(file, "sentences: " + std::to_string(h.sentences) + " is not ≥ 1");
  for (uint32_t i = 0; i < count; ++i) {
    const std::string where = "tensor " + std::to_string(i);
    const std::string name = r.str(kMaxName, where + " name");
    const std::string field = "tensors." + name;
    if (h.tensors.count(name)) fail(file, field + ": appears twice");
    InputHessian t;
    t.dim = r.get<int64_t>(field + ".dim");
    if (t.dim < 1 || t.dim > kMaxDim) fail(file, field + ".dim: " + std::to_string(t.dim) + " is not 1..65536");
    t.rows = r.get<int64_t>(field + ".rows");
    if (t.rows < 1) fail(file, field + ".rows: " + std::to_string(t.rows) + " is not ≥ 1");
    const size_t n = size_t(t.dim) * size_t(t.dim);  // ≤ 2^32: no overflow
    r.need(n * sizeof(float), field + ".values");
    t.values.resize(n);
    std::memcpy(t.values.data(), r.at(), n * sizeof(float));
    r.skip(n * sizeof(float));
    for (int64_t a = 0; a < t.dim; ++a)
      for (int64_t b = 0; b < t.dim; ++b) {
        const float v = t.values[a * t.dim + b];
        const std::string cell = field + ".values[" + std::to_string(a) + "][" + std::to_string(b) + "]";
        if (!std::isfinite(v)) fail(file, cell + ": not finite");
        if (a == b && v < 0.0f) fail(file, cell + ": a diagonal entry is negative");
        if (b < a && v != t.values[b * t.dim + a]) fail(file, cell + ": the matrix is not symmetric");
      }
    h.tensors.emplace(name, std::move(t));
  }
  if (!r.done()) fail(file, "trailing bytes after the last tensor");
  return h;
}

}  // namespace qtool::calibrate
