#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "tests/test_paths.h"
#include "util/error.h"
#include "util/file.h"

using namespace qtool;
using nlohmann::json;

namespace {
json base_config() {
  return json::parse(read_text_file(test::bundled_model() + "/config.json"));
}
std::string error_of(const json& j, const std::string& gen = "") {
  try {
    parse_model_config(j.dump(), "cfg.json", gen, "gen.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config: the bundled model's fields are read") {
  ModelConfig c = parse_model_config(base_config().dump(), "config.json");
  CHECK(c.d_model == 128);
  CHECK(c.encoder_layers == 3);
  CHECK(c.decoder_layers == 3);
  CHECK(c.encoder_heads == 4);
  CHECK(c.head_dim(false) == 32);
  CHECK(c.encoder_ffn_dim == 512);
  CHECK(c.vocab_size == 8000);
  CHECK(c.activation == Activation::silu);
  CHECK(c.scale_embedding);
  CHECK_FALSE(c.normalize_before);
  CHECK(c.pad_id == 2);
  CHECK(c.eos_id == 0);
  CHECK(c.decoder_start_id == 2);
  CHECK(c.forced_eos_id == 0);
}

TEST_CASE("config: activations map to their functions") {
  json j = base_config();
  for (auto [name, act] : {std::pair{"relu", Activation::relu}, {"silu", Activation::silu},
                           {"gelu", Activation::gelu}, {"gelu_new", Activation::gelu_tanh},
                           {"gelu_fast", Activation::gelu_tanh}, {"gelu_python", Activation::gelu},
                           {"quick_gelu", Activation::quick_gelu}, {"tanh", Activation::tanh},
                           {"sigmoid", Activation::sigmoid}, {"relu6", Activation::relu6},
                           {"leaky_relu", Activation::leaky_relu}, {"mish", Activation::mish}}) {
    j["activation_function"] = name;
    CHECK(parse_model_config(j.dump(), "c").activation == act);
  }
}

TEST_CASE("config: unsupported or missing fields are refused by name") {
  json j = base_config();
  j["activation_function"] = "laplace";  // in Hugging Face's ACT2FN, not something a Marian model uses
  CHECK(error_of(j).find("cfg.json: field 'activation_function' = \"laplace\" is not supported") == 0);
  j = base_config();
  j.erase("d_model");
  CHECK(error_of(j) == "cfg.json: missing field 'd_model'");
  j = base_config();
  j["encoder_attention_heads"] = 3;
  CHECK(error_of(j).find("'encoder_attention_heads' = 3 does not divide d_model = 128") != std::string::npos);
  j = base_config();
  j["pad_token_id"] = 8000;
  CHECK(error_of(j).find("'pad_token_id' = 8000 is outside the vocabulary") != std::string::npos);
  j = base_config();
  j["model_type"] = "bart";
  CHECK(error_of(j).find("'model_type'") != std::string::npos);
  j = base_config();
  j["d_model"] = "128";
  CHECK(error_of(j).find("'d_model' must be an integer") != std::string::npos);
  CHECK(error_of(base_config(), "{not json").find("gen.json: not valid JSON") == 0);
  // 2^32 + 5 must not wrap to id 5.
  j = base_config();
  j["bad_words_ids"] = {{4294967301ull}};
  CHECK(error_of(j).find("'bad_words_ids' = 4294967301 is outside the vocabulary (size 8000)") != std::string::npos);
}

TEST_CASE("config: generation_config.json overrides generation fields") {
  json g = {{"num_beams", 6}, {"bad_words_ids", {{7}}}, {"decoder_start_token_id", 5}};
  ModelConfig c = parse_model_config(base_config().dump(), "c", g.dump(), "g");
  CHECK(c.num_beams == 6);
  CHECK(c.decoder_start_id == 5);
  REQUIRE(c.bad_words_ids.size() == 1);
  CHECK(c.bad_words_ids[0] == std::vector<int>{7});
}
