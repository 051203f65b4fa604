#include "model/qtm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "util/crc32.h"
#include "util/error.h"
#include "util/file.h"
#include "util/half.h"
#include "util/mapped_file.h"

namespace qtool {
using nlohmann::json;

namespace {

struct Section {
  uint64_t offset = 0, bytes = 0;
  std::string field;
};

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const std::string& file, const MappedFile* mapped)
      : b_(bytes), file_(file), mapped_(mapped) {}

  // A section descriptor at JSON path `field`, checked against the file.
  std::span<const uint8_t> section(const json& j, const std::string& field) {
    if (!j.is_object() || !j.contains("offset") || !j.contains("bytes") || !j.contains("crc32") ||
        !j["offset"].is_number_unsigned() || !j["bytes"].is_number_unsigned() || !j["crc32"].is_number_unsigned())
      fail(file_, field + ": a section needs unsigned 'offset', 'bytes' and 'crc32'");
    const uint64_t off = j["offset"], n = j["bytes"];
    if (off % kQtmAlign != 0) fail(file_, field + ": offset " + std::to_string(off) + " is not 64-byte aligned");
    if (off < data_start_ || off > b_.size() || n > b_.size() - off)
      fail(file_, field + ": section [" + std::to_string(off) + ", +" + std::to_string(n) +
                      ") lies outside the data (file has " + std::to_string(b_.size()) + " bytes)");
    if (j["crc32"].get<uint64_t>() > 0xffffffffull) fail(file_, field + ".crc32: " + j["crc32"].dump() + " is not a 32-bit value");
    if (crc32(b_.data() + off, n) != j["crc32"].get<uint64_t>())
      fail(file_, field + ": checksum mismatch (the file is damaged)");
    sections_.push_back({off, n, field});
    return b_.subspan(off, n);
  }

  // Sections may not overlap; two descriptors of the very same bytes (a joint
  // vocabulary's one SentencePiece model) are one section.
  void check_no_overlap() {
    std::sort(sections_.begin(), sections_.end(), [](auto& a, auto& b) {
      return a.offset != b.offset ? a.offset < b.offset : a.bytes < b.bytes;
    });
    for (size_t i = 1; i < sections_.size(); ++i) {
      const Section &prev = sections_[i - 1], &cur = sections_[i];
      if (cur.offset == prev.offset && cur.bytes == prev.bytes && cur.field.rfind("vocab.", 0) == 0 &&
          prev.field.rfind("vocab.", 0) == 0)
        continue;
      if (cur.offset < prev.offset + prev.bytes) fail(file_, cur.field + ": overlaps " + prev.field);
    }
  }

  json header() {
    if (b_.size() < 24) fail(file_, "too short for a .qtm header (" + std::to_string(b_.size()) + " bytes, need 24)");
    if (std::memcmp(b_.data(), kQtmMagic, 8) != 0) fail(file_, "magic: not a .qtm file (bad magic)");
    uint32_t version, reserved;
    uint64_t hlen;
    std::memcpy(&version, b_.data() + 8, 4);
    std::memcpy(&reserved, b_.data() + 12, 4);
    std::memcpy(&hlen, b_.data() + 16, 8);
    if (version > kQtmVersion)
      fail(file_, "version: format version " + std::to_string(version) +
                      " was written by a newer qtool; this one reads up to version " + std::to_string(kQtmVersion) +
                      ": upgrade qtool");
    if (version == 0) fail(file_, "version: format version 0 is not valid");
    version_ = version;
    if (reserved != 0) fail(file_, "reserved: bytes 12..15 must be 0, got " + std::to_string(reserved));
    if (hlen > kQtmMaxHeader)
      fail(file_, "header length: " + std::to_string(hlen) + " bytes is over the 64 MiB limit");
    if (hlen > b_.size() - 24)
      fail(file_, "header length: " + std::to_string(hlen) + " runs past the end of the file (" +
                      std::to_string(b_.size()) + " bytes)");
    data_start_ = 24 + hlen;
    json h;
    try {
      h = json::parse(b_.begin() + 24, b_.begin() + 24 + static_cast<std::ptrdiff_t>(hlen));
    } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
      fail(file_, std::string("header is not valid JSON: ") + e.what());
    }
    if (!h.is_object()) fail(file_, "header must be a JSON object");
    // The header repeats what the fixed fields say; a disagreement is damage.
    if (!h.contains("format") || h["format"] != "qtm") fail(file_, "format: the header must say \"qtm\"");
    if (!h.contains("version") || !h["version"].is_number_unsigned() || h["version"].get<uint64_t>() != version_)
      fail(file_, "version: the header says " + (h.contains("version") ? h["version"].dump() : std::string("nothing")) +
                      ", the file's version field " + std::to_string(version_));
    return h;
  }

  const std::string& file() const { return file_; }
  // A section's bytes were copied out (or widened): when the file is mapped, its
  // pages are given back, so the model is not held both as a copy and as pages.
  void copied(std::span<const uint8_t> section) const {
    if (mapped_) mapped_->release(section);
  }

 private:
  std::span<const uint8_t> b_;
  std::string file_;
  const MappedFile* mapped_;
  uint64_t data_start_ = 0;
  uint32_t version_ = 0;
  std::vector<Section> sections_;
};

std::string text(std::span<const uint8_t> s) { return std::string(s.begin(), s.end()); }

const json& need(const json& j, const char* key, const std::string& path, const std::string& file) {
  if (!j.contains(key)) fail(file, "missing field '" + path + key + "'");
  return j.at(key);
}

// Little-endian halves (α of version 2, fp16 vectors) as floats.
std::vector<float> widen_halves(std::span<const uint8_t> bytes) {
  std::vector<float> out(bytes.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, bytes.data() + 2 * i, 2);
    out[i] = half_to_float(h);
  }
  return out;
}

// One binary-code matrix: "bits", "group_size", "data" (sign planes) and "alphas".
std::shared_ptr<const BinaryCodeTensor> read_binary(Parser& p, const std::string& path, const json& t, int64_t rows,
                                                    int64_t cols, const std::shared_ptr<const void>& storage) {
  const std::string& file = p.file();
  const json& bits = need(t, "bits", path + ".", file);
  const json& group = need(t, "group_size", path + ".", file);
  if (!bits.is_number_integer() || bits.get<int64_t>() < 1 || bits.get<int64_t>() > 4)
    fail(file, path + ".bits: " + bits.dump() + " is not 1..4");
  if (!group.is_number_unsigned() || group.get<uint64_t>() > uint64_t(cols) ||
      (group.get<int64_t>() != cols && group.get<int64_t>() % 4 != 0) || group.get<int64_t>() == 0)
    fail(file, path + ".group_size: " + group.dump() + " is not the column count or a positive multiple of 4 below it");
  BinaryCodeTensor shape = BinaryCodeTensor::make(1, cols, bits.get<int>(), group.get<int64_t>());
  shape.rows = rows;  // sizes only: no storage for the real row count yet
  auto planes = p.section(need(t, "data", path + ".", file), path + ".data");
  auto alphas = p.section(need(t, "alphas", path + ".", file), path + ".alphas");
  if (planes.size() != uint64_t(shape.plane_words()) * 8)
    fail(file, path + ".data: " + std::to_string(planes.size()) + " bytes, expected " +
                   std::to_string(shape.plane_words() * 8) + " for the sign planes");
  // Version 2 writes α as halves ("alpha_dtype": "f16"); version 1 had floats.
  std::string dtype = "f32";
  if (t.contains("alpha_dtype")) {
    const json& d = t.at("alpha_dtype");
    if (!d.is_string() || (d.get<std::string>() != "f16" && d.get<std::string>() != "f32"))
      fail(file, path + ".alpha_dtype: " + d.dump() + " is not \"f16\" or \"f32\"");
    dtype = d.get<std::string>();
  }
  const uint64_t width = dtype == "f16" ? 2 : 4;
  if (alphas.size() != uint64_t(shape.alpha_count()) * width)
    fail(file, path + ".alphas: " + std::to_string(alphas.size()) + " bytes, expected " +
                   std::to_string(shape.alpha_count() * width) + " (" + dtype + ")");
  std::vector<float> widened = width == 2 ? widen_halves(alphas) : std::vector<float>();
  const float* scales = width == 2 ? widened.data() : reinterpret_cast<const float*>(alphas.data());
  for (int64_t i = 0; i < shape.alpha_count(); ++i) {
    float a;
    std::memcpy(&a, reinterpret_cast<const uint8_t*>(scales) + 4 * i, 4);
    if (!std::isfinite(a)) fail(file, path + ".alphas: scale " + std::to_string(i) + " is not finite");
  }
  const auto* words = reinterpret_cast<const uint64_t*>(planes.data());
  if (storage) {  // planes used in place: the tensor keeps the mapping alive
    BinaryCodeTensor* t = new BinaryCodeTensor(
        width == 2 ? BinaryCodeTensor::view(rows, cols, shape.bits, shape.group_size, words, std::move(widened))
                   : BinaryCodeTensor::view(rows, cols, shape.bits, shape.group_size, words, scales));
    if (width == 2) p.copied(alphas);
    return std::shared_ptr<const BinaryCodeTensor>(t, [storage](const BinaryCodeTensor* p) { delete p; });
  }
  BinaryCodeTensor owned = BinaryCodeTensor::make(rows, cols, shape.bits, shape.group_size);
  std::memcpy(owned.planes.data(), planes.data(), planes.size());
  std::memcpy(owned.alphas.data(), scales, owned.alphas.size() * 4);
  p.copied(planes);
  p.copied(alphas);
  return std::make_shared<const BinaryCodeTensor>(std::move(owned));
}

// "vocab": {"location": "beside", role: {"file", "bytes", "crc32"}}: the files
// sit in the .qtm's directory and must be the ones it was written with.
void read_tokenizer_beside(const json& vocab, const std::string& file, VocabularyFiles& out) {
  if (vocab["location"] != "beside") fail(file, "vocab.location: " + vocab["location"].dump() + " is not \"beside\"");
  const std::filesystem::path dir = std::filesystem::path(file).parent_path();
  for (const TokenizerFile& f : kTokenizerFiles) {
    if (!f.required && !vocab.contains(f.role)) continue;
    const std::string path = std::string("vocab.") + f.role;
    const json& d = need(vocab, f.role, "vocab.", file);
    if (!d.is_object() || !d.contains("file") || !d["file"].is_string() || !d.contains("bytes") ||
        !d["bytes"].is_number_unsigned() || !d.contains("crc32") || !d["crc32"].is_number_unsigned())
      fail(file, path + ": must be {\"file\": name, \"bytes\": n, \"crc32\": c}");
    const std::string name = d["file"];
    if (name != f.name) fail(file, path + ".file: \"" + name + "\" is not \"" + f.name + "\"");
    const std::string where = (dir / name).string();
    if (!std::filesystem::exists(where))
      fail(file, path + ": " + where + " is missing (this .qtm keeps its tokenizer beside it)");
    std::string bytes = read_text_file(where);
    const uint32_t crc = crc32(bytes.data(), bytes.size());
    if (bytes.size() != d["bytes"].get<uint64_t>() || crc != d["crc32"].get<uint64_t>())
      fail(file, path + ": " + where + " is not the file this model was written with (" + std::to_string(bytes.size()) +
                     " bytes, crc32 " + std::to_string(crc) + "; expected " + d["bytes"].dump() + ", " +
                     d["crc32"].dump() + ")");
    out.*f.text = std::move(bytes);
  }
}

void read_tensor(Parser& p, const std::string& name, const json& t, QtmModel& m) {
  const std::string path = "tensors." + name;
  const std::string& file = p.file();
  if (!t.is_object()) fail(file, path + ": must be an object");
  const json& qt = need(t, "qtype", path + ".", file);
  const json& shape = need(t, "shape", path + ".", file);
  if (!qt.is_string() || !shape.is_array() || shape.empty() || shape.size() > 4)
    fail(file, path + ": 'qtype' must be a string and 'shape' a list of 1 to 4 sizes");
  uint64_t count = 1;
  std::vector<int64_t> dims;
  for (const json& d : shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (1ull << 32)) fail(file, path + ".shape: bad size " + d.dump());
    // No tensor of a translation model is empty; a 0 would only hide a bad shape.
    if (d.get<uint64_t>() == 0) fail(file, path + ".shape: a size of 0 (an empty tensor) is not valid");
    if (__builtin_mul_overflow(count, d.get<uint64_t>(), &count) || count > (1ull << 36))
      fail(file, path + ".shape: too large");
    dims.push_back(d.get<int64_t>());
  }
  const std::string q = qt.get<std::string>();
  if (q == "binary_code" || q == "binary_code/clustered") {
    if (dims.size() != 2 || dims[0] == 0 || dims[1] == 0) fail(file, path + ".shape: a binary-code tensor is a matrix [out, in]");
    if (q == "binary_code") {
      m.quantized.binary.emplace(name, read_binary(p, path, t, dims[0], dims[1], m.storage));
      return;
    }
    auto e = std::make_shared<ClusteredBinaryEmbedding>();
    e->rows = dims[0];
    e->cols = dims[1];
    e->storage = m.storage;
    auto order = p.section(need(t, "order", path + ".", file), path + ".order");
    if (order.size() != uint64_t(dims[0]) * 4) fail(file, path + ".order: needs one int32 per row");
    e->order.resize(dims[0]);
    std::memcpy(e->order.data(), order.data(), order.size());
    p.copied(order);
    const json& clusters = need(t, "clusters", path + ".", file);
    if (!clusters.is_array() || clusters.empty() || clusters.size() > 16)
      fail(file, path + ".clusters: must be a list of 1 to 16 clusters");
    for (size_t c = 0; c < clusters.size(); ++c) {
      const std::string cp = path + ".clusters[" + std::to_string(c) + "]";
      const json& rows = need(clusters[c], "rows", cp + ".", file);
      if (!rows.is_number_unsigned() || rows.get<uint64_t>() == 0 || rows.get<uint64_t>() > uint64_t(dims[0]))
        fail(file, cp + ".rows: " + rows.dump() + " is not a row count of this matrix");
      e->clusters.push_back(*read_binary(p, cp, clusters[c], rows.get<int64_t>(), dims[1], m.storage));
    }
    finish_clustered_embedding(*e, file + ": " + path);
    m.quantized.clustered.emplace(name, std::move(e));
    return;
  }
  auto data = p.section(need(t, "data", path + ".", file), path + ".data");
  if (q == "fp32") {
    if (data.size() != count * 4) fail(file, path + ".data: " + std::to_string(data.size()) + " bytes for " + std::to_string(count) + " fp32 values");
    Tensor out;
    out.shape = dims;
    out.data.resize(count);
    std::memcpy(out.data.data(), data.data(), data.size());
    p.copied(data);
    m.fp32.emplace(name, std::move(out));
    return;
  }
  if (q == "fp16") {  // biases and LayerNorm parameters of a "vectors": "fp16" model, widened here
    if (uint64_t(dims.back()) != count) fail(file, path + ".shape: an fp16 tensor is a vector ([n] or [1, n])");
    if (data.size() != count * 2) fail(file, path + ".data: " + std::to_string(data.size()) + " bytes for " + std::to_string(count) + " fp16 values");
    Tensor out;
    out.shape = dims;
    out.data = widen_halves(data);
    p.copied(data);
    m.fp32.emplace(name, std::move(out));
    m.fp16_vectors.insert(name);
    return;
  }
  QType type;
  if (q == qtype_name(QType::int8_per_channel)) type = QType::int8_per_channel;
  else if (q == qtype_name(QType::int8_per_tensor)) type = QType::int8_per_tensor;
  else fail(file, path + ".qtype: '" + q + "' is not a known type (fp32, fp16, int8/channel, int8/tensor, binary_code, binary_code/clustered)");
  if (dims.size() != 2) fail(file, path + ".shape: an int8 tensor is a matrix [out, in]");
  if (data.size() != count) fail(file, path + ".data: " + std::to_string(data.size()) + " bytes for " + std::to_string(count) + " int8 values");
  Int8Tensor out;
  out.type = type;
  out.rows = dims[0];
  out.cols = dims[1];
  out.values.assign(reinterpret_cast<const int8_t*>(data.data()), reinterpret_cast<const int8_t*>(data.data()) + count);
  p.copied(data);
  auto scales = p.section(need(t, "scales", path + ".", file), path + ".scales");
  const uint64_t n_scales = type == QType::int8_per_channel ? static_cast<uint64_t>(out.rows) : 1;
  if (scales.size() != 4 * n_scales) fail(file, path + ".scales: " + std::to_string(scales.size()) + " bytes for " + std::to_string(n_scales) + " scales");
  out.scales.resize(n_scales);
  std::memcpy(out.scales.data(), scales.data(), scales.size());
  p.copied(scales);
  for (float s : out.scales)
    if (!std::isfinite(s) || s <= 0.0f) fail(file, path + ".scales: scale " + std::to_string(s) + " is not a positive finite number");
  m.quantized.int8.emplace(name, std::move(out));
}

// parse_qtm, and with `mapped` (the file `bytes` are mapped from) each section
// copied out is released from it.
QtmModel parse(std::span<const uint8_t> bytes, const std::string& file, std::shared_ptr<const void> owner,
               const MappedFile* mapped) {
  Parser p(bytes, file, mapped);
  json h = p.header();
  QtmModel m;
  // Planes are read as 64-bit words in place only when the buffer is aligned as
  // a mapping is (sections sit at multiples of 64 from its start); else copied.
  if (reinterpret_cast<uintptr_t>(bytes.data()) % kQtmAlign == 0) m.storage = std::move(owner);
  const json& cfg = need(h, "config_json", "", file);
  if (!cfg.is_string()) fail(file, "field 'config_json' must be a string");
  m.config_json = cfg.get<std::string>();
  if (h.contains("generation_config_json") && h["generation_config_json"].is_string())
    m.generation_config_json = h["generation_config_json"].get<std::string>();
  if (h.contains("quantization")) m.quantization_json = h["quantization"].dump();
  const json& vocab = need(h, "vocab", "", file);
  if (!vocab.is_object()) fail(file, "field 'vocab' must be an object");
  m.vocab.origin = file;
  m.tokenizer_beside = vocab.contains("location");
  if (m.tokenizer_beside) read_tokenizer_beside(vocab, file, m.vocab);
  else
    for (const TokenizerFile& f : kTokenizerFiles)
      if (f.required || vocab.contains(f.role)) {
        const auto bytes = p.section(need(vocab, f.role, "vocab.", file), std::string("vocab.") + f.role);
        m.vocab.*f.text = text(bytes);
        p.copied(bytes);
      }
  const json& tensors = need(h, "tensors", "", file);
  if (!tensors.is_object() || tensors.empty()) fail(file, "field 'tensors' must be a non-empty object");
  for (const auto& [name, t] : tensors.items()) read_tensor(p, name, t, m);
  if (h.contains("activations")) {
    if (!h["activations"].is_object()) fail(file, "field 'activations' must be an object");
    for (const auto& [name, v] : h["activations"].items()) {
      const std::string where = "activations." + name;
      if (!v.is_object() || !v.contains("threshold") || !v.contains("one_sided"))
        fail(file, where + ": must be {\"threshold\": T, \"one_sided\": bool[, \"zero_point\": z]}");
      const json& t = v["threshold"];
      if (!t.is_number() || !valid_threshold(t.get<double>()))
        fail(file, where + ".threshold: " + t.dump() + " is not a positive threshold in [1e-30, 1e30]");
      if (!v["one_sided"].is_boolean()) fail(file, where + ".one_sided: must be true or false");
      CalibratedInput in{t.get<float>(), v["one_sided"].get<bool>(), 0};
      if (v.contains("zero_point")) {  // version 3: an asymmetric input with a negative floor
        const json& z = v["zero_point"];
        if (in.asymmetric || !z.is_number_integer() || z.get<int64_t>() < 1 || z.get<int64_t>() > kMaxZeroPoint)
          fail(file, where + ".zero_point: " + z.dump() + " is not an integer in 1.." + std::to_string(kMaxZeroPoint) +
                         " beside one_sided false");
        in.asymmetric = true;
        in.zero_point = z.get<int32_t>();
      }
      m.activations[name] = in;
    }
  }
  if (h.contains("int8_fallbacks")) {
    const json& f = h["int8_fallbacks"];
    if (!f.is_object()) fail(file, "field 'int8_fallbacks' must be an object");
    for (const auto& [name, v] : f.items()) {
      const std::string where = "int8_fallbacks." + name;
      if (!v.is_object() || !v.contains("input") || (v["input"] != "dynamic" && v["input"] != "fp32"))
        fail(file, where + ".input: must be \"dynamic\" or \"fp32\"");
      Int8Fallback fb{v["input"].get<std::string>()};
      for (auto [key, to] : {std::pair{"static_error", &fb.static_error}, std::pair{"dynamic_error", &fb.dynamic_error}})
        if (v.contains(key)) {
          if (!v[key].is_number()) fail(file, where + "." + key + ": must be a number");
          *to = v[key].get<double>();
        }
      m.int8_fallbacks[name] = fb;
    }
  }
  p.check_no_overlap();
  return m;
}

}  // namespace

QtmModel parse_qtm(std::span<const uint8_t> bytes, const std::string& file, std::shared_ptr<const void> owner) {
  return parse(bytes, file, std::move(owner), nullptr);
}

QtmModel read_qtm(const std::string& path) {
  std::shared_ptr<const MappedFile> map = MappedFile::open(path);
  QtmModel m = parse(map->bytes(), path, map, map.get());
  // Every section was read, so every page was touched, and a page fault maps its
  // neighbours too (pages of sections already copied and released). Sign planes
  // used in place come back as decoding reads them; nothing else is read again.
  map->release(map->bytes());
  return m;
}

bool looks_like_qtm(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  return in.read(magic, 8) && std::memcmp(magic, kQtmMagic, 8) == 0;
}

MarianWeights qtm_weights(QtmModel& m, const std::string& file) {
  ModelConfig c = parse_model_config(m.config_json, file + " (config_json)", m.generation_config_json,
                                     file + " (generation_config_json)");
  MarianWeights w = resolve_marian_weights(std::move(m.fp32), c, file, std::move(m.quantized));
  std::map<std::string, CalibratedInput> unused = m.activations;
  for (NamedLinear& l : linear_layers(w)) {
    auto it = m.activations.find(l.name);
    if (it == m.activations.end()) continue;
    if (!l.weights->int8) fail(file, "activations." + l.name + ": a threshold for a layer that is not INT8");
    l.weights->input = it->second;
    unused.erase(l.name);
  }
  if (!unused.empty()) fail(file, "activations." + unused.begin()->first + ": no such linear layer");
  return w;
}

}  // namespace qtool
