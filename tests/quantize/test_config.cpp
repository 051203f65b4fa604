// Malformed quantization configs: each refused on one line naming the file and
// the field (docs/loader-rules.md lists the corpus).
#include <doctest/doctest.h>

#include "quantize/config.h"
#include "util/error.h"

using namespace qtool;

TEST_CASE("quantize config: malformed configs are refused naming the file and the field") {
  struct Case {
    const char* name;
    const char* text;
    const char* expect;  // after "q.json: "
  };
  const char* plan = R"("enc_self_attn": 2, "enc_ffn": 2, "dec_self_attn": 2, "dec_cross_attn": 2, "dec_ffn": 2)";
  const std::vector<Case> cases = {
      {"not JSON", R"({"version": 1,)", "not valid JSON"},
      {"NaN literal", R"({"version": 1, "binary_code": {"activation_power": NaN}})", "not valid JSON"},
      {"top level an array", "[1]", "the top level must be a JSON object"},
      {"wrong version", R"({"version": 2, "int8": {}})", "version: must be 1"},
      {"version as text", R"({"version": "1", "int8": {}})", "version: must be 1"},
      {"unknown key", R"({"version": 1, "int8": {}, "bits": 3})", "bits: unknown key"},
      {"no int8, no precision", R"({"version": 1})", "int8: required"},
      {"unknown weight type", R"({"version": 1, "int8": {"weights": "per_row"}})", "int8.weights: \"per_row\" is not one of"},
      {"activations a number", R"({"version": 1, "int8": {"activations": 1}})", "int8.activations: 1 is not one of"},
      {"unknown tokenizer place", R"({"version": 1, "int8": {}, "tokenizer": "aside"})", "tokenizer: \"aside\" is not one of \"embedded\", \"beside\""},
      {"embeddings not a bool", R"({"version": 1, "int8": {"embeddings": "yes"}})", "int8.embeddings: must be true or false"},
      {"iterations past int", R"({"version": 1, "int8": {}, "binary_code": {"iterations": 4294967297}})",
       "binary_code.iterations: 4294967297 is not 0..1000"},
      {"group size 6", R"({"version": 1, "int8": {}, "binary_code": {"group_size": 6}})", "binary_code.group_size: 6 is not"},
      // nlohmann refuses a number past double's range: the message quotes it.
      {"activation power 1e999", R"({"version": 1, "int8": {}, "binary_code": {"activation_power": 1e999}})",
       "not valid JSON: [json.exception.out_of_range.406] number overflow parsing '1e999'"},
      {"activation power 5", R"({"version": 1, "int8": {}, "binary_code": {"activation_power": 5}})",
       "binary_code.activation_power: 5 is not a number in [0, 4]"},
      {"gptq not an object", R"({"version": 1, "int8": {}, "binary_code": {"gptq": true}})",
       "binary_code.gptq: must be an object"},
      {"gptq unknown key", R"({"version": 1, "int8": {}, "binary_code": {"gptq": {"dampening": 0.1}}})",
       "binary_code.gptq.dampening: unknown key"},
      {"gptq damp -1", R"({"version": 1, "int8": {}, "binary_code": {"gptq": {"damp": -1}}})",
       "binary_code.gptq.damp: -1 is not a number in [0, 10]"},
      {"gptq rounds 0", R"({"version": 1, "int8": {}, "binary_code": {"gptq": {"rounds": 0}}})",
       "binary_code.gptq.rounds: 0 is not 1..10"},
      {"gptq embedding \"yes\"", R"({"version": 1, "int8": {}, "binary_code": {"gptq": {"embedding": "yes"}}})",
       "binary_code.gptq.embedding: must be true or false"},
      {"gptq sequential 1", R"({"version": 1, "int8": {}, "binary_code": {"gptq": {"sequential": 1}}})",
       "binary_code.gptq.sequential: must be true or false"},
      {"gptq act_order 1", R"({"version": 1, "int8": {}, "binary_code": {"gptq": {"act_order": 1}}})",
       "binary_code.gptq.act_order: must be true or false"},
      {"bits 0", R"({"version": 1, "precision": {"enc_self_attn": 0}})", "precision.enc_self_attn: 0 is not 1, 2, 3, 4"},
      {"bits past int", R"({"version": 1, "precision": {"enc_self_attn": 4294967297}})", "precision.enc_self_attn: 4294967297 is not"},
      {"sub-layer missing", R"({"version": 1, "precision": {"enc_self_attn": 2}})", "precision.enc_ffn: missing"},
      {"bad layer key", R"({"version": 1, "precision": {PLAN, "layers": {"encoder.x.ffn": 2}}})",
       "precision.layers.encoder.x.ffn: not a sub-layer"},
      {"zero clusters", R"({"version": 1, "precision": {PLAN, "embedding": {"clusters": 0, "ratio": 2}}})",
       "precision.embedding.clusters: must be 1..4"},
      {"ratio 0", R"({"version": 1, "precision": {PLAN, "embedding": {"clusters": 2, "ratio": 0}}})",
       "precision.embedding.ratio: must be a number in (0, 100]"},
      {"top bits below clusters", R"({"version": 1, "precision": {PLAN, "embedding": {"clusters": 3, "ratio": 1, "bits": 2}}})",
       "precision.embedding.bits: must be clusters..4"},
      {"inputs not an object", R"({"version": 1, "int8": {}, "inputs": []})", "inputs: must be an object"},
      {"inputs without model", R"({"version": 1, "int8": {}, "inputs": {"calibration_data": {}}})",
       "inputs.model: must be an object"},
      {"inputs unknown key", R"({"version": 1, "int8": {}, "inputs": {"model": {"content_hash": "h"}, "hessians": {}}})",
       "inputs.hessians: unknown key"},
      {"inputs sentences 0",
       R"({"version": 1, "int8": {}, "inputs": {"model": {"content_hash": "h"}, "calibration_data": {"file": "d.en", "content_hash": "h", "sentences": 0}}})",
       "inputs.calibration_data.sentences: must be an integer >= 1"},
      {"inputs empty hash",
       R"({"version": 1, "int8": {}, "inputs": {"model": {"content_hash": ""}, "calibration_data": {"file": "d.en", "content_hash": "h", "sentences": 3}}})",
       "inputs.model.content_hash: must be a non-empty string"},
  };
  for (const Case& c : cases) {
    std::string text = c.text;
    if (const size_t at = text.find("PLAN"); at != std::string::npos) text.replace(at, 4, plan);
    CAPTURE(c.name);
    std::string e = "(accepted)";
    try {
      quantize::parse_quantize_config(text, "q.json");
    } catch (const Error& err) {
      e = err.what();
    }
    CAPTURE(e);
    CHECK(e.rfind(std::string("q.json: ") + c.expect, 0) == 0);
    CHECK(e.find('\n') == std::string::npos);
  }
}

TEST_CASE("quantize config: binary_code.gptq") {
  const auto plain = quantize::parse_quantize_config(R"({"version": 1, "int8": {}})", "q.json");
  CHECK_FALSE(plain.gptq);
  const auto defaults = quantize::parse_quantize_config(R"({"version": 1, "int8": {}, "binary_code": {"gptq": {}}})", "q.json");
  CHECK(defaults.gptq);
  CHECK(defaults.gptq_options.damp == 0.01);
  CHECK(defaults.gptq_options.rounds == 2);
  CHECK_FALSE(defaults.gptq_options.act_order);
  const auto set = quantize::parse_quantize_config(
      R"({"version": 1, "int8": {}, "binary_code": {"gptq": {"damp": 0.1, "rounds": 3, "act_order": true, "embedding": true, "sequential": true}}})",
      "q.json");
  CHECK(set.gptq_options.sequential);
  CHECK_FALSE(defaults.gptq_options.sequential);
  CHECK(set.gptq_options.damp == 0.1);
  CHECK(set.gptq_options.rounds == 3);
  CHECK(set.gptq_options.act_order);
  CHECK(set.gptq_options.embedding);
  CHECK_FALSE(defaults.gptq_options.embedding);
}

TEST_CASE("quantize config: embedding clusters from a top bit width, and recorded inputs") {
  const char* plan = R"("enc_self_attn": 2, "enc_ffn": 2, "dec_self_attn": 2, "dec_cross_attn": 2, "dec_ffn": 2)";
  const auto paper = quantize::parse_quantize_config(
      std::string(R"({"version": 1, "precision": {)") + plan + R"(, "embedding": {"clusters": 3, "ratio": 1}}})", "q.json");
  CHECK(paper.plan.embedding_clusters == 3);
  CHECK(paper.plan.embedding.bits == 3);  // {3, 2, 1}
  const auto top = quantize::parse_quantize_config(
      std::string(R"({"version": 1, "precision": {)") + plan + R"(, "embedding": {"clusters": 2, "ratio": 1, "bits": 4}}})",
      "q.json");
  CHECK(top.plan.embedding_clusters == 2);
  CHECK(top.plan.embedding.bits == 4);  // {4, 3}
  CHECK_FALSE(top.inputs.present);
  const auto in = quantize::parse_quantize_config(
      R"({"version": 1, "int8": {}, "inputs": {"model": {"content_hash": "fnv1a64:1"},
          "calibration_data": {"file": "/d/dev.en", "content_hash": "fnv1a64:2", "sentences": 7},
          "token_counts": {"file": "/d/c.json", "content_hash": "fnv1a64:3"}}})",
      "q.json");
  CHECK(in.inputs.present);
  CHECK(in.inputs.model_hash == "fnv1a64:1");
  CHECK(in.inputs.calibration_data == "/d/dev.en");
  CHECK(in.inputs.calibration_hash == "fnv1a64:2");
  CHECK(in.inputs.calibration_sentences == 7);
  CHECK(in.inputs.token_counts == "/d/c.json");
  CHECK(in.inputs.token_counts_hash == "fnv1a64:3");
}
