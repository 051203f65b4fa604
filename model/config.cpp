#include "model/config.h"

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/json.h"

namespace qtool {
using nlohmann::json;

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::silu: return "swish";
    case Activation::gelu: return "gelu";
    case Activation::gelu_tanh: return "gelu_new";
    case Activation::quick_gelu: return "quick_gelu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::relu6: return "relu6";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::mish: return "mish";
  }
  return "?";
}

namespace {

struct Reader {
  const json& j;
  const std::string& file;

  bool has(const char* key) const { return j.contains(key) && !j.at(key).is_null(); }

  int integer(const char* key, int min_value, std::optional<int> fallback = std::nullopt) const {
    if (!has(key)) {
      if (fallback) return *fallback;
      fail(file, std::string("missing field '") + key + "'");
    }
    const json& v = j.at(key);
    if (!v.is_number_integer())
      fail(file, std::string("field '") + key + "' must be an integer, got " + v.dump());
    long long x = v.get<long long>();
    if (x < min_value || x > (1LL << 30))
      fail(file, std::string("field '") + key + "' = " + std::to_string(x) + " is out of range");
    return static_cast<int>(x);
  }

  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j.at(key);
    if (!v.is_boolean()) fail(file, std::string("field '") + key + "' must be true or false, got " + v.dump());
    return v.get<bool>();
  }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j.at(key);
    if (!v.is_number()) fail(file, std::string("field '") + key + "' must be a number, got " + v.dump());
    return v.get<double>();
  }
};


Activation parse_activation(const Reader& r) {
  // Hugging Face's MarianConfig default is "gelu".
  std::string name = "gelu";
  if (r.has("activation_function")) {
    const json& v = r.j.at("activation_function");
    if (!v.is_string()) fail(r.file, "field 'activation_function' must be a string");
    name = v.get<std::string>();
  }
  if (name == "swish" || name == "silu") return Activation::silu;
  if (name == "relu") return Activation::relu;
  if (name == "gelu" || name == "gelu_python") return Activation::gelu;
  // gelu_fast is the same tanh form as gelu_new, written differently.
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "quick_gelu") return Activation::quick_gelu;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "relu6") return Activation::relu6;
  if (name == "leaky_relu") return Activation::leaky_relu;
  if (name == "mish") return Activation::mish;
  fail(r.file, "field 'activation_function' = \"" + name +
                   "\" is not supported (supported: swish, silu, relu, gelu, gelu_python, gelu_new, gelu_fast, "
                   "gelu_pytorch_tanh, quick_gelu, tanh, sigmoid, relu6, leaky_relu, mish)");
}

void check_id(const std::string& file, const char* field, int id, int vocab) {
  if (id < 0 || id >= vocab)
    fail(file, std::string("field '") + field + "' = " + std::to_string(id) +
                   " is outside the vocabulary (size " + std::to_string(vocab) + ")");
}

}  // namespace

ModelConfig parse_model_config(const std::string& config_json, const std::string& config_file,
                               const std::string& generation_json,
                               const std::string& generation_file) {
  json j = parse_json_object(config_json, config_file);
  Reader r{j, config_file};
  if (r.has("model_type")) {
    std::string type = j.at("model_type").is_string() ? j.at("model_type").get<std::string>() : "";
    if (type != "marian")
      fail(config_file, "field 'model_type' = " + j.at("model_type").dump() +
                            " is not supported (only \"marian\")");
  }
  ModelConfig c;
  c.d_model = r.integer("d_model", 1);
  c.encoder_layers = r.integer("encoder_layers", 1);
  c.decoder_layers = r.integer("decoder_layers", 1);
  c.encoder_heads = r.integer("encoder_attention_heads", 1);
  c.decoder_heads = r.integer("decoder_attention_heads", 1);
  c.encoder_ffn_dim = r.integer("encoder_ffn_dim", 1);
  c.decoder_ffn_dim = r.integer("decoder_ffn_dim", 1);
  c.vocab_size = r.integer("vocab_size", 1);
  c.decoder_vocab_size = r.integer("decoder_vocab_size", 1, c.vocab_size);
  c.max_position_embeddings = r.integer("max_position_embeddings", 1, 1024);
  c.activation = parse_activation(r);
  c.scale_embedding = r.boolean("scale_embedding", false);
  c.normalize_before = r.boolean("normalize_before", false);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
  c.share_encoder_decoder_embeddings = r.boolean("share_encoder_decoder_embeddings", true);
  if (c.d_model % c.encoder_heads != 0)
    fail(config_file, "field 'encoder_attention_heads' = " + std::to_string(c.encoder_heads) +
                          " does not divide d_model = " + std::to_string(c.d_model));
  if (c.d_model % c.decoder_heads != 0)
    fail(config_file, "field 'decoder_attention_heads' = " + std::to_string(c.decoder_heads) +
                          " does not divide d_model = " + std::to_string(c.d_model));

  c.eos_id = r.integer("eos_token_id", 0);
  c.pad_id = r.integer("pad_token_id", 0);
  c.decoder_start_id = r.integer("decoder_start_token_id", 0, c.pad_id);
  c.forced_eos_id = r.integer("forced_eos_token_id", 0, c.eos_id);
  c.source_json = config_json;
  c.generation_source_json = generation_json;

  // generation_config.json wins over config.json for generation fields, as in transformers.
  json g = generation_json.empty() ? json::object() : parse_json_object(generation_json, generation_file);
  for (const Reader& src : {r, Reader{g, generation_file}}) {
    if (src.has("bad_words_ids")) {
      const json& v = src.j.at("bad_words_ids");
      c.bad_words_ids.clear();
      bool ok = v.is_array();
      for (const json& seq : ok ? v : json::array()) {
        if (!seq.is_array() || seq.empty()) { ok = false; break; }
        std::vector<int> ids;
        for (const json& id : seq) {
          if (!id.is_number_integer()) { ok = false; break; }
          // Checked before it becomes an int: 2^32 + 5 would wrap to 5.
          const bool inside = id.is_number_unsigned() ? id.get<uint64_t>() < uint64_t(c.decoder_vocab_size)
                                                      : id.get<int64_t>() >= 0 && id.get<int64_t>() < c.decoder_vocab_size;
          if (!inside)
            fail(src.file, "field 'bad_words_ids' = " + id.dump() + " is outside the vocabulary (size " +
                               std::to_string(c.decoder_vocab_size) + ")");
          ids.push_back(id.get<int>());
        }
        c.bad_words_ids.push_back(ids);
      }
      if (!ok) fail(src.file, "field 'bad_words_ids' must be a list of lists of token ids");
    }
    c.num_beams = src.integer("num_beams", 1, c.num_beams);
    c.max_length = src.integer("max_length", 1, c.max_length);
    c.length_penalty = src.number("length_penalty", c.length_penalty);
    c.early_stopping = src.has("early_stopping") && src.j.at("early_stopping").is_string()
                           ? false  // "never": keep searching; treated as false
                           : src.boolean("early_stopping", c.early_stopping);
    if (&src.j == &g) {
      c.eos_id = src.integer("eos_token_id", 0, c.eos_id);
      c.pad_id = src.integer("pad_token_id", 0, c.pad_id);
      c.decoder_start_id = src.integer("decoder_start_token_id", 0, c.decoder_start_id);
      c.forced_eos_id = src.integer("forced_eos_token_id", 0, c.forced_eos_id);
    }
  }
  const std::string& gfile = generation_json.empty() ? config_file : generation_file;
  check_id(gfile, "eos_token_id", c.eos_id, c.decoder_vocab_size);
  check_id(gfile, "pad_token_id", c.pad_id, c.decoder_vocab_size);
  check_id(gfile, "decoder_start_token_id", c.decoder_start_id, c.decoder_vocab_size);
  check_id(gfile, "forced_eos_token_id", c.forced_eos_id, c.decoder_vocab_size);
  for (const auto& seq : c.bad_words_ids)
    for (int id : seq) check_id(gfile, "bad_words_ids", id, c.decoder_vocab_size);
  return c;
}

}  // namespace qtool
