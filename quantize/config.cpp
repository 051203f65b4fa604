#include "quantize/config.h"

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/json.h"

namespace qtool::quantize {
using nlohmann::json;

namespace {
void only_keys(const json& j, const std::string& path, std::initializer_list<const char*> keys,
               const std::string& file) {
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* key : keys) known |= k == key;
    if (!known) {
      std::string list;
      for (const char* key : keys) list += std::string(list.empty() ? "" : ", ") + key;
      fail(file, path + k + ": unknown key (expected one of: " + list + ")");
    }
  }
}
std::string choice(const json& j, const char* key, const std::string& path,
                   std::initializer_list<const char*> allowed, const std::string& fallback, const std::string& file) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  for (const char* a : allowed)
    if (v.is_string() && v.get<std::string>() == a) return a;
  std::string list;
  for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + "\"" + a + "\"";
  fail(file, path + key + ": " + v.dump() + " is not one of " + list);
}
// P: 1..4 (binary-code planes), "int8" or "fp32".
Precision parse_precision(const json& v, const std::string& path, const std::string& file) {
  // int64, not int: 2^32 + 3 must not wrap to 3.
  if (v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 4) return Precision::binary(v.get<int>());
  if (v == "int8") return Precision::int8();
  if (v == "fp32") return Precision::fp32();
  fail(file, path + ": " + v.dump() + " is not 1, 2, 3, 4 (binary-code bits), \"int8\" or \"fp32\"");
}

PrecisionPlan parse_plan(const json& p, const std::string& file) {
  if (!p.is_object()) fail(file, "precision: must be an object");
  only_keys(p, "precision.",
            {"enc_self_attn", "enc_ffn", "dec_self_attn", "dec_cross_attn", "dec_ffn", "output_projection", "embedding",
             "layers"},
            file);
  PrecisionPlan plan;
  for (const char* type : kSublayerTypes) {
    if (!p.contains(type)) fail(file, std::string("precision.") + type + ": missing (1..4, \"int8\" or \"fp32\")");
    plan.sublayers[type] = parse_precision(p[type], std::string("precision.") + type, file);
  }
  if (p.contains("embedding")) {
    const json& e = p["embedding"];
    if (e.is_object()) {
      only_keys(e, "precision.embedding.", {"clusters", "ratio", "bits"}, file);
      if (!e.contains("clusters") || !e["clusters"].is_number_integer() || e["clusters"].get<int64_t>() < 1 ||
          e["clusters"].get<int64_t>() > 4)
        fail(file, "precision.embedding.clusters: must be 1..4 (cluster i gets clusters − i bits)");
      if (!e.contains("ratio") || !e["ratio"].is_number() || !(e["ratio"].get<double>() > 0) ||
          e["ratio"].get<double>() > 100)
        fail(file, "precision.embedding.ratio: must be a number in (0, 100]");
      plan.embedding_clusters = e["clusters"];
      plan.embedding_ratio = e["ratio"];
      int top = plan.embedding_clusters;  // the most frequent cluster's bits; default: one per cluster down to 1
      if (e.contains("bits")) {
        if (!e["bits"].is_number_integer() || e["bits"].get<int64_t>() < plan.embedding_clusters ||
            e["bits"].get<int64_t>() > 4)
          fail(file, "precision.embedding.bits: must be clusters..4 (cluster i gets bits − i planes)");
        top = e["bits"];
      }
      plan.embedding = Precision::binary(top);
    } else {
      plan.embedding = parse_precision(e, "precision.embedding", file);
    }
  }
  if (p.contains("output_projection") && p["output_projection"] != "embedding") {
    plan.output_shares_embedding = false;
    plan.output_projection = parse_precision(p["output_projection"], "precision.output_projection", file);
  }
  if (p.contains("layers")) {
    const json& l = p["layers"];
    if (!l.is_object()) fail(file, "precision.layers: must be an object");
    for (const auto& [key, v] : l.items()) {
      const std::string path = "precision.layers." + key;
      // encoder.N.{self_attn,ffn} or decoder.N.{self_attn,cross_attn,ffn}
      const size_t a = key.find('.'), b = key.rfind('.');
      const std::string stack = key.substr(0, a), part = b == std::string::npos ? "" : key.substr(b + 1);
      const std::string index = a == std::string::npos || b <= a ? "" : key.substr(a + 1, b - a - 1);
      const bool ok = (stack == "encoder" && (part == "self_attn" || part == "ffn")) ||
                      (stack == "decoder" && (part == "self_attn" || part == "cross_attn" || part == "ffn"));
      if (!ok || index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 4)
        fail(file, path + ": not a sub-layer (encoder.N.self_attn|ffn, decoder.N.self_attn|cross_attn|ffn)");
      plan.layers[key] = parse_precision(v, path, file);
    }
  }
  return plan;
}

PlanInputs parse_inputs(const json& in, const std::string& file) {
  if (!in.is_object()) fail(file, "inputs: must be an object");
  only_keys(in, "inputs.", {"model", "calibration_data", "token_counts"}, file);
  auto object = [&](const char* key, std::initializer_list<const char*> keys) -> const json& {
    if (!in.contains(key) || !in[key].is_object()) fail(file, std::string("inputs.") + key + ": must be an object");
    only_keys(in[key], std::string("inputs.") + key + ".", keys, file);
    return in[key];
  };
  auto text = [&](const json& o, const char* section, const char* key) {
    if (!o.contains(key) || !o[key].is_string() || o[key].get<std::string>().empty())
      fail(file, std::string("inputs.") + section + "." + key + ": must be a non-empty string");
    return o[key].get<std::string>();
  };
  PlanInputs p;
  p.present = true;
  p.model_hash = text(object("model", {"content_hash"}), "model", "content_hash");
  const json& d = object("calibration_data", {"file", "content_hash", "sentences"});
  p.calibration_data = text(d, "calibration_data", "file");
  p.calibration_hash = text(d, "calibration_data", "content_hash");
  if (!d.contains("sentences") || !d["sentences"].is_number_integer() || d["sentences"].get<int64_t>() < 1)
    fail(file, "inputs.calibration_data.sentences: must be an integer >= 1");
  p.calibration_sentences = d["sentences"];
  if (in.contains("token_counts")) {
    const json& t = object("token_counts", {"file", "content_hash"});
    p.token_counts = text(t, "token_counts", "file");
    p.token_counts_hash = text(t, "token_counts", "content_hash");
  }
  return p;
}

}  // namespace

QuantizeConfig parse_quantize_config(const std::string& text, const std::string& file) {
  const json j = parse_json_object(text, file);
  only_keys(j, "", {"version", "int8", "description", "binary_code", "precision", "tokenizer", "vectors", "inputs"},
            file);
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != 1)
    fail(file, "version: must be 1");
  if (j.contains("description") && !j["description"].is_string()) fail(file, "description: must be a string");
  QuantizeConfig c;
  c.tokenizer_beside = choice(j, "tokenizer", "", {"embedded", "beside"}, "embedded", file) == "beside";
  c.vectors_f16 = choice(j, "vectors", "", {"fp32", "fp16"}, "fp32", file) == "fp16";
  c.has_plan = j.contains("precision");
  if (!c.has_plan && (!j.contains("int8") || !j["int8"].is_object()))
    fail(file, "int8: required (an object) when there is no \"precision\"");
  const json q = j.contains("int8") ? j["int8"] : json::object();
  if (!q.is_object()) fail(file, "int8: must be an object");
  if (c.has_plan)
    for (const char* k : {"output_projection", "embeddings"})
      if (q.contains(k)) fail(file, std::string("int8.") + k + ": with \"precision\", say it in precision." +
                                        (k[0] == 'o' ? "output_projection" : "embedding"));
  only_keys(q, "int8.", {"weights", "activations", "output_projection", "embeddings", "fallback"}, file);
  c.int8.weight_type = choice(q, "weights", "int8.", {"per_channel", "per_tensor"}, "per_channel", file) == "per_tensor"
                           ? QType::int8_per_tensor
                           : QType::int8_per_channel;
  c.activations = choice(q, "activations", "int8.", {"dynamic", "static"}, "dynamic", file);
  if (q.contains("output_projection")) {
    if (!q["output_projection"].is_boolean()) fail(file, "int8.output_projection: must be true or false");
    c.int8.output_projection = q["output_projection"].get<bool>();
  }
  if (q.contains("embeddings")) {
    if (!q["embeddings"].is_boolean()) fail(file, "int8.embeddings: must be true or false");
    c.int8.embeddings = q["embeddings"].get<bool>();
  }
  if (q.contains("fallback")) {
    if (!q["fallback"].is_boolean()) fail(file, "int8.fallback: must be true or false");
    c.int8.fallback = q["fallback"].get<bool>();
  }
  if (j.contains("binary_code")) {
    const json& b = j["binary_code"];
    if (!b.is_object()) fail(file, "binary_code: must be an object");
    only_keys(b, "binary_code.", {"iterations", "group_size", "activation_power", "gptq", "bias_correction", "reconstruction"},
              file);
    if (b.contains("bias_correction")) {
      if (!b["bias_correction"].is_boolean()) fail(file, "binary_code.bias_correction: must be true or false");
      c.bias_correction = b["bias_correction"];
    }
    if (b.contains("iterations")) {
      if (!b["iterations"].is_number_integer() || b["iterations"].get<int64_t>() < 0 || b["iterations"].get<int64_t>() > 1000)
        fail(file, "binary_code.iterations: " + b["iterations"].dump() + " is not 0..1000");
      c.binary.iterations = b["iterations"];
    }
    if (b.contains("group_size")) {
      if (!b["group_size"].is_number_integer() || b["group_size"].get<int64_t>() < 0 || b["group_size"].get<int64_t>() % 4)
        fail(file, "binary_code.group_size: " + b["group_size"].dump() + " is not 0 (per row) or a positive multiple of 4");
      c.binary.group_size = b["group_size"];
    }
    if (b.contains("activation_power")) {
      if (!b["activation_power"].is_number() || !(b["activation_power"].get<double>() >= 0) ||
          b["activation_power"].get<double>() > 4)
        fail(file, "binary_code.activation_power: " + b["activation_power"].dump() + " is not a number in [0, 4]");
      c.activation_power = b["activation_power"];
    }
    if (b.contains("gptq")) {
      const json& g = b["gptq"];
      if (!g.is_object()) fail(file, "binary_code.gptq: must be an object ({} for the defaults)");
      only_keys(g, "binary_code.gptq.", {"damp", "rounds", "act_order", "embedding", "sequential"}, file);
      c.gptq = true;
      if (g.contains("damp")) {
        if (!g["damp"].is_number() || !(g["damp"].get<double>() >= 0) || g["damp"].get<double>() > 10)
          fail(file, "binary_code.gptq.damp: " + g["damp"].dump() + " is not a number in [0, 10]");
        c.gptq_options.damp = g["damp"];
      }
      if (g.contains("rounds")) {
        if (!g["rounds"].is_number_integer() || g["rounds"].get<int64_t>() < 1 || g["rounds"].get<int64_t>() > 10)
          fail(file, "binary_code.gptq.rounds: " + g["rounds"].dump() + " is not 1..10");
        c.gptq_options.rounds = g["rounds"];
      }
      if (g.contains("act_order")) {
        if (!g["act_order"].is_boolean()) fail(file, "binary_code.gptq.act_order: must be true or false");
        c.gptq_options.act_order = g["act_order"];
      }
      if (g.contains("embedding")) {
        if (!g["embedding"].is_boolean()) fail(file, "binary_code.gptq.embedding: must be true or false");
        c.gptq_options.embedding = g["embedding"];
      }
      if (g.contains("sequential")) {
        if (!g["sequential"].is_boolean()) fail(file, "binary_code.gptq.sequential: must be true or false");
        c.gptq_options.sequential = g["sequential"];
      }
    }
  }
  if (j.contains("binary_code") && j["binary_code"].contains("reconstruction")) {
    const json& r = j["binary_code"]["reconstruction"];
    if (!r.is_object()) fail(file, "binary_code.reconstruction: must be an object ({} for the defaults)");
    only_keys(r, "binary_code.reconstruction.", {"iterations", "learning_rate", "rows", "ffn", "output"}, file);
    for (const char* k : {"ffn", "output"})
      if (r.contains(k) && !r[k].is_boolean()) fail(file, std::string("binary_code.reconstruction.") + k + ": must be true or false");
    c.reconstruction_options.ffn = r.value("ffn", true);
    c.reconstruction_options.output = r.value("output", true);
    c.reconstruction = true;
    if (r.contains("iterations")) {
      if (!r["iterations"].is_number_integer() || r["iterations"].get<int64_t>() < 1 || r["iterations"].get<int64_t>() > 10000)
        fail(file, "binary_code.reconstruction.iterations: " + r["iterations"].dump() + " is not 1..10000");
      c.reconstruction_options.iterations = r["iterations"];
    }
    if (r.contains("learning_rate")) {
      if (!r["learning_rate"].is_number() || !(r["learning_rate"].get<double>() > 0) || r["learning_rate"].get<double>() > 1)
        fail(file, "binary_code.reconstruction.learning_rate: " + r["learning_rate"].dump() + " is not a number in (0, 1]");
      c.reconstruction_options.learning_rate = r["learning_rate"];
    }
    if (r.contains("rows")) {
      if (!r["rows"].is_number_integer() || r["rows"].get<int64_t>() < 16 || r["rows"].get<int64_t>() > 1000000)
        fail(file, "binary_code.reconstruction.rows: " + r["rows"].dump() + " is not 16..1000000");
      c.reconstruction_options.rows = r["rows"];
    }
  }
  if (c.has_plan) c.plan = parse_plan(j["precision"], file);
  if (j.contains("inputs")) c.inputs = parse_inputs(j["inputs"], file);
  c.text = j.dump();
  return c;
}

std::string Precision::str() const {
  switch (kind) {
    case Kind::fp32: return "fp32";
    case Kind::int8: return "int8";
    case Kind::binary: return std::to_string(bits) + (bits == 1 ? " bit" : " bits");
  }
  return "?";
}

std::pair<std::string, std::string> sublayer_of(const std::string& name) {
  for (const char* stack : {"encoder", "decoder"}) {
    const std::string prefix = std::string("model.") + stack + ".layers.";
    if (name.rfind(prefix, 0) != 0) continue;
    const size_t dot = name.find('.', prefix.size());
    const std::string index = name.substr(prefix.size(), dot - prefix.size());
    const std::string rest = name.substr(dot + 1);
    const bool enc = stack[0] == 'e';
    std::string part = rest.rfind("self_attn", 0) == 0      ? "self_attn"
                       : rest.rfind("encoder_attn", 0) == 0 ? "cross_attn"
                                                            : "ffn";
    return {std::string(stack) + "." + index + "." + part, std::string(enc ? "enc_" : "dec_") + part};
  }
  return {"", ""};
}

Precision PrecisionPlan::of(const std::string& linear_name) const {
  const auto [key, type] = sublayer_of(linear_name);
  if (auto it = layers.find(key); it != layers.end()) return it->second;
  if (auto it = sublayers.find(type); it != sublayers.end()) return it->second;
  return Precision::int8();
}

}  // namespace qtool::quantize
