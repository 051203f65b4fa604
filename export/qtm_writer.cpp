#include "export/qtm_writer.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <tuple>
#include <nlohmann/json.hpp>

#include "model/qtm.h"
#include "util/crc32.h"
#include "util/error.h"
#include "util/file.h"
#include "util/half.h"

namespace qtool::exporter {
using nlohmann::json;

namespace {

// The sections in file order, each a borrowed byte range.
struct Blob {
  const void* data;
  uint64_t bytes;
  uint64_t offset = 0;  // relative to the data start until placed
};

class Layout {
 public:
  // Returns the JSON descriptor, to be completed with absolute offsets later.
  size_t add(const void* data, uint64_t bytes) {
    blobs_.push_back({data, bytes, end_});
    end_ = (end_ + bytes + kQtmAlign - 1) / kQtmAlign * kQtmAlign;
    return blobs_.size() - 1;
  }
  json descriptor(size_t i, uint64_t data_start) const {
    const Blob& b = blobs_[i];
    return {{"offset", data_start + b.offset}, {"bytes", b.bytes}, {"crc32", crc32(b.data, b.bytes)}};
  }
  const std::vector<Blob>& blobs() const { return blobs_; }
  uint64_t end() const { return end_; }

 private:
  std::vector<Blob> blobs_;
  uint64_t end_ = 0;
};

}  // namespace

QtmWriteStats write_qtm(const std::string& path, MarianWeights& w, const VocabularyFiles& vocab,
                        const std::string& quantization_json, const QtmWriteOptions& opt) {
  const bool tokenizer_beside = opt.tokenizer_beside;
  Layout layout;
  // Each entry: its name and a function that writes its descriptor once the
  // data start (and so every absolute offset) is known.
  struct Entry {
    std::string name;
    std::function<json(uint64_t data_start)> describe;
  };
  std::vector<Entry> entries;
  auto stored = [&](const std::string& name) {
    for (const Entry& e : entries)
      if (e.name == name) return true;  // a tied tensor is stored once
    return false;
  };
  std::deque<std::vector<uint16_t>> halves;  // α and vectors as halves, at stable addresses for the layout
  auto add_fp32 = [&](const std::string& name, const TensorPtr& t) {
    if (stored(name)) return;
    const char* qtype = "fp32";
    size_t data;
    if (opt.vectors_f16 && t->shape.back() == int64_t(t->data.size())) {  // a bias or LayerNorm parameter ([n], [1, n])
      qtype = "fp16";
      std::vector<uint16_t>& h = halves.emplace_back(t->data.size());
      for (size_t i = 0; i < h.size(); ++i) {
        h[i] = float_to_half(t->data[i]);
        if (std::isfinite(t->data[i]) && !std::isfinite(half_to_float(h[i])))
          fail(path, name + ": " + std::to_string(t->data[i]) + " does not fit a half (|x| > 65504)");
      }
      data = layout.add(h.data(), h.size() * 2);
    } else {
      data = layout.add(t->data.data(), t->data.size() * 4);
    }
    entries.push_back({name, [&layout, data, qtype, shape = t->shape](uint64_t s) {
                         return json{{"qtype", qtype}, {"shape", shape}, {"data", layout.descriptor(data, s)}};
                       }});
  };
  auto add_int8 = [&](const std::string& name, const Int8Tensor& q) {
    if (stored(name)) return;
    const size_t data = layout.add(q.values.data(), q.values.size());
    const size_t scales = layout.add(q.scales.data(), q.scales.size() * 4);
    entries.push_back({name, [&layout, data, scales, &q](uint64_t s) {
                         return json{{"qtype", qtype_name(q.type)}, {"shape", {q.rows, q.cols}},
                                     {"data", layout.descriptor(data, s)}, {"scales", layout.descriptor(scales, s)}};
                       }});
  };
  // Binary code: the sign planes exactly as the kernels read them, then the α
  // as halves (the quantizer already rounds them so; a half that overflows is refused).
  auto binary_sections = [&layout, &halves, &path](const BinaryCodeTensor& t) {
    const size_t planes = layout.add(t.planes_data(), t.plane_words() * 8);
    std::vector<uint16_t>& h = halves.emplace_back(t.alpha_count());
    for (int64_t i = 0; i < t.alpha_count(); ++i) {
      h[i] = float_to_half(t.alphas_data()[i]);
      if (!std::isfinite(half_to_float(h[i])))
        fail(path, "binary-code scale " + std::to_string(t.alphas_data()[i]) + " does not fit a half (|α| > 65504)");
    }
    const size_t alphas = layout.add(h.data(), h.size() * 2);
    return [&layout, planes, alphas, &t](uint64_t s) {
      return json{{"bits", t.bits}, {"group_size", t.group_size}, {"data", layout.descriptor(planes, s)},
                  {"alphas", layout.descriptor(alphas, s)}, {"alpha_dtype", "f16"}};
    };
  };
  auto add_binary = [&](const std::string& name, const BinaryCodeTensor& t) {
    if (stored(name)) return;
    auto sections = binary_sections(t);
    entries.push_back({name, [sections, &t](uint64_t s) {
                         json j = sections(s);
                         j["qtype"] = "binary_code";
                         j["shape"] = {t.rows, t.cols};
                         return j;
                       }});
  };
  auto add_clustered = [&](const std::string& name, const ClusteredBinaryEmbedding& e) {
    if (stored(name)) return;
    const size_t order = layout.add(e.order.data(), e.order.size() * 4);
    std::vector<std::function<json(uint64_t)>> clusters;
    for (const BinaryCodeTensor& t : e.clusters) clusters.push_back(binary_sections(t));
    entries.push_back({name, [&layout, order, clusters, &e](uint64_t s) {
                         json cs = json::array();
                         for (size_t c = 0; c < clusters.size(); ++c) {
                           json j = clusters[c](s);
                           j["rows"] = e.clusters[c].rows;
                           cs.push_back(j);
                         }
                         return json{{"qtype", "binary_code/clustered"}, {"shape", {e.rows, e.cols}},
                                     {"order", layout.descriptor(order, s)}, {"clusters", cs}};
                       }});
  };
  for (auto [name, fp32, int8, binary] :
       {std::tuple{w.encoder_embed_name, w.encoder_embed, w.encoder_embed_int8, w.encoder_embed_binary},
        std::tuple{w.decoder_embed_name, w.decoder_embed, w.decoder_embed_int8, w.decoder_embed_binary}}) {
    if (int8) add_int8(name, *int8);
    else if (binary) add_clustered(name, *binary);
    else add_fp32(name, fp32);
  }
  for (NamedLinear& l : linear_layers(w)) {
    const bool head = l.name == "lm_head";
    const LinearWeights& lw = *l.weights;
    const std::string weight = l.name + ".weight", bias = head ? "final_logits_bias" : l.name + ".bias";
    if (head && ((lw.int8 && lw.int8 == w.decoder_embed_int8) ||
                 (lw.clustered && lw.clustered == w.decoder_embed_binary))) {
      // tied: the decoder embedding's quantized matrix is the output projection
    } else if (lw.int8) add_int8(weight, *lw.int8);
    else if (lw.binary) add_binary(weight, *lw.binary);
    else if (lw.clustered) add_clustered(weight, *lw.clustered);
    else if (!head || lw.weight != w.decoder_embed) add_fp32(weight, lw.weight);
    add_fp32(bias, lw.bias);
  }
  for (auto& [name, n] : layer_norms(w)) {
    add_fp32(name + ".weight", n->gamma);
    add_fp32(name + ".bias", n->beta);
  }
  // Embedded: one section per tokenizer file (a joint vocabulary's two identical
  // SentencePiece models once). Beside: the files go next to the .qtm.
  std::map<std::string, size_t> vocab_sections;
  if (!tokenizer_beside)
    for (const TokenizerFile& f : kTokenizerFiles) {
      const std::string& text = vocab.*f.text;
      if (!f.required && text.empty()) continue;
      vocab_sections[f.role] = f.text == &VocabularyFiles::target_spm && text == vocab.source_spm
                                   ? vocab_sections.at("source_spm")
                                   : layout.add(text.data(), text.size());
    }
  else
    write_tokenizer_beside(path, vocab);

  // The header's length depends on the offsets it prints: settle it by iteration.
  std::string header;
  uint64_t data_start = 0;
  for (int pass = 0; pass < 4; ++pass) {
    json h = {{"format", "qtm"},
              {"version", kQtmVersion},
              {"producer", "qtool 0.1.0"},
              {"config_json", w.config.source_json},
              {"generation_config_json", w.config.generation_source_json},
              {"quantization", quantization_json.empty() ? json::object() : json::parse(quantization_json)}};
    json v = json::object();
    for (const auto& [role, section] : vocab_sections) v[role] = layout.descriptor(section, data_start);
    if (tokenizer_beside) {
      v["location"] = "beside";
      for (const TokenizerFile& f : kTokenizerFiles) {
        const std::string& text = vocab.*f.text;
        if (f.required || !text.empty())
          v[f.role] = {{"file", f.name}, {"bytes", text.size()}, {"crc32", crc32(text.data(), text.size())}};
      }
    }
    h["vocab"] = v;
    json t = json::object();
    for (const Entry& e : entries) t[e.name] = e.describe(data_start);
    h["tensors"] = t;
    json act = json::object();  // static INT8 activations: the calibrated clipping thresholds
    for (NamedLinear& l : linear_layers(w))
      if (const CalibratedInput& in = l.weights->input; in.threshold > 0.0f) {
        act[l.name] = {{"threshold", in.threshold}, {"one_sided", in.one_sided()}};
        if (in.asymmetric && in.zero_point > 0) act[l.name]["zero_point"] = in.zero_point;
      }
    h["activations"] = act;
    if (!opt.int8_fallbacks.empty()) {
      json fb = json::object();
      for (const auto& [name, f] : opt.int8_fallbacks)
        fb[name] = {{"input", f.input}, {"static_error", f.static_error}, {"dynamic_error", f.dynamic_error}};
      h["int8_fallbacks"] = fb;
    }
    header = h.dump();
    const uint64_t start = (24 + header.size() + kQtmAlign - 1) / kQtmAlign * kQtmAlign;
    if (start == data_start) break;
    data_start = start;
  }

  AtomicOutput out(path);
  std::ostream& os = out.stream();
  const uint32_t version = kQtmVersion, reserved = 0;
  const uint64_t hlen = header.size();
  os.write(kQtmMagic, 8);
  os.write(reinterpret_cast<const char*>(&version), 4);
  os.write(reinterpret_cast<const char*>(&reserved), 4);
  os.write(reinterpret_cast<const char*>(&hlen), 8);
  os.write(header.data(), static_cast<std::streamsize>(hlen));
  uint64_t at = 24 + hlen;
  const std::string zeros(kQtmAlign, '\0');
  for (const Blob& b : layout.blobs()) {
    const uint64_t target = data_start + b.offset;
    os.write(zeros.data(), static_cast<std::streamsize>(target - at));
    os.write(static_cast<const char*>(b.data), static_cast<std::streamsize>(b.bytes));
    at = target + b.bytes;
  }
  out.commit();
  return {static_cast<int64_t>(at), static_cast<int64_t>(entries.size())};
}

void write_tokenizer_beside(const std::string& qtm_path, const VocabularyFiles& vocab) {
  const std::filesystem::path dir = std::filesystem::path(qtm_path).parent_path();
  std::vector<std::pair<std::string, const std::string*>> to_write;
  for (const TokenizerFile& f : kTokenizerFiles) {
    const std::string& text = vocab.*f.text;
    if (!f.required && text.empty()) continue;
    const std::string where = (dir / f.name).string();
    if (!std::filesystem::exists(where)) to_write.emplace_back(where, &text);
    else if (read_text_file(where) != text)
      fail(where, "exists and is not this model's " + std::string(f.name) +
                      " (a .qtm with \"tokenizer\": \"beside\" keeps its tokenizer next to it: write it to another directory)");
  }
  for (const auto& [where, text] : to_write) write_file_atomic(where, *text);
}


}  // namespace qtool::exporter
