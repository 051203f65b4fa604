// Pipeline configs are validated as a whole before any work: every bad config
// is refused with the file, the JSON path of the culprit and a hint, and
// nothing is created.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pipeline/pipeline_config.h"
#include "tests/test_paths.h"
#include "util/error.h"

using namespace qtool;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path scratch() {
  static const fs::path d = test::scratch_dir("qtool_pipeline_config_");
  return d;
}

// A valid config with absolute paths; each case breaks one thing.
json valid() {
  const std::string src = test::source_dir();
  return {{"version", 1},
          {"model", test::bundled_model()},
          {"output_dir", (scratch() / "out").string()},
          {"data",
           {{"calibration", src + "/data/ddtp-en-de/calib.en"},
            {"dev_src", src + "/data/ddtp-en-de/dev.en"},
            {"dev_ref", src + "/data/ddtp-en-de/dev.de"},
            {"test_src", src + "/data/ddtp-en-de/test.en"},
            {"test_ref", src + "/data/ddtp-en-de/test.de"},
            {"token_counts", src + "/data/ddtp-en-de/token-counts.json"}}},
          {"calibrate", {{"sentences", 10}}},
          {"search", {{"target_bits", 2.6}}},
          {"variants",
           {{{"name", "fp32"}, {"config", "fp32"}},
            {{"name", "int8"}, {"config", src + "/configs/int8-kl.json"}},
            {{"name", "low"},
             {"config",
              {{"version", 1},
               {"precision",
                {{"enc_self_attn", 3}, {"enc_ffn", 3}, {"dec_self_attn", 3}, {"dec_cross_attn", 3},
                 {"dec_ffn", 2}, {"embedding", "int8"}}}}}},
            {{"name", "searched"}, {"config", "search"}}}},
          {"evaluate", {{"beam", 4}}},
          {"bench", {{"sentences", 10}}},
          {"export", {{"dir", "deploy"}, {"variants", {"int8"}}}}};
}

std::string refusal(const json& j) {
  const std::string file = (scratch() / "pipeline.json").string();
  try {
    pipeline::parse_pipeline_config(j.dump(), file);
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.rfind(file + ": ", 0) == 0);  // names the file first
    CHECK(m.find('\n') == std::string::npos);
    return m;
  }
  FAIL("accepted: " << j.dump());
  return "";
}

}  // namespace

TEST_CASE("a valid config is read whole: paths, variants and stage options") {
  const pipeline::PipelineConfig c =
      pipeline::parse_pipeline_config(valid().dump(), (scratch() / "pipeline.json").string());
  REQUIRE(c.variants.size() == 4);
  CHECK(c.variants[0].source == pipeline::VariantSpec::Source::fp32);
  CHECK(c.variants[1].use_calibration);  // int8-kl.json asks for static activations
  CHECK(c.variants[2].source == pipeline::VariantSpec::Source::inline_config);
  CHECK_FALSE(c.variants[2].use_token_counts);
  // The searched plan records its counts and hessians: quantize recomputes them, not the pipeline.
  CHECK_FALSE(c.variants[3].use_token_counts);
  CHECK_FALSE(c.variants[3].use_hessians);
  CHECK(c.calibrate->sentences == 10);
  CHECK(c.search->options.target_bits == doctest::Approx(2.6));
  CHECK(c.evaluate->beam == 4);
  CHECK(c.exporter->dir == (scratch() / "out" / "deploy").string());
  CHECK_FALSE(fs::exists(scratch() / "out"));  // reading creates nothing
}

TEST_CASE("a clustered embedding uses data.token_counts when given, else the tokenizer's frequencies") {
  json j = valid();
  j["variants"][2]["config"]["precision"]["embedding"] = {{"clusters", 4}, {"ratio", 2}};
  const std::string file = (scratch() / "pipeline.json").string();
  CHECK(pipeline::parse_pipeline_config(j.dump(), file).variants[2].use_token_counts);
  j["data"].erase("token_counts");
  CHECK_FALSE(pipeline::parse_pipeline_config(j.dump(), file).variants[2].use_token_counts);
}

TEST_CASE("relative paths are from the config file's directory") {
  json j = valid();
  j["model"] = "../../models/ddtp-en-de-tiny";
  j["output_dir"] = "out";
  const std::string file = test::source_dir() + "/configs/sub/p.json";  // need not exist to be parsed
  const pipeline::PipelineConfig c = pipeline::parse_pipeline_config(j.dump(), file);
  CHECK(fs::equivalent(c.model, test::bundled_model()));
  CHECK(c.output_dir == test::source_dir() + "/configs/sub/out");
}

TEST_CASE("every invalid config names its JSON path") {
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"unknown top-level key, with a suggestion", [](json& j) { j["varients"] = json::array(); },
       "varients: unknown key; did you mean \"variants\"?"},
      {"unknown nested key", [](json& j) { j["calibrate"]["sentence"] = 5; }, "calibrate.sentence: unknown key"},
      {"unknown variant key", [](json& j) { j["variants"][1]["bits"] = 2; }, "variants[1].bits: unknown key"},
      {"wrong version", [](json& j) { j["version"] = 2; }, "version: must be 1"},
      {"model missing", [](json& j) { j.erase("model"); }, "model: missing"},
      {"model of the wrong type", [](json& j) { j["model"] = 3; }, "model: must be a non-empty string, not a number"},
      {"model does not exist", [](json& j) { j["model"] = "/nonexistent/model"; }, "model: /nonexistent/model does not exist"},
      {"data file missing", [](json& j) { j["data"]["test_src"] = "/nonexistent/test.en"; },
       "data.test_src: /nonexistent/test.en does not exist"},
      {"data is not an object", [](json& j) { j["data"] = json::array(); }, "data: must be an object, not an array"},
      {"sentences out of range", [](json& j) { j["calibrate"]["sentences"] = 0; },
       "calibrate.sentences: must be an integer from 1"},
      {"bins not a power of two", [](json& j) { j["calibrate"]["bins"] = 1000; }, "calibrate.bins: must be a power of two"},
      {"unknown calibration method", [](json& j) { j["calibrate"]["method"] = "entropy"; }, "calibrate.method:"},
      {"calibrate without calibration data", [](json& j) { j["data"].erase("calibration"); },
       "calibrate: needs data.calibration"},
      {"gptq without the calibrate stage",
       [](json& j) {
         j["variants"][2]["config"]["binary_code"] = {{"gptq", json::object()}};
         j.erase("calibrate");
         j["variants"][1]["config"] = {{"version", 1}, {"int8", json::object()}};  // no static activations
       },
       "variants[2].config: binary_code.gptq needs the \"calibrate\" stage"},
      {"search with both targets", [](json& j) { j["search"]["max_bleu_drop"] = 1.0; },
       "search: give exactly one of target_bits and max_bleu_drop"},
      {"search criterion unknown", [](json& j) { j["search"]["criterion"] = "perplexity"; },
       "search.criterion: must be \"nll\" or \"bleu\", not \"perplexity\""},
      {"search without dev data", [](json& j) { j["data"].erase("dev_ref"); }, "search: needs data.dev_src and data.dev_ref"},
      {"no variants", [](json& j) { j["variants"] = json::array(); }, "variants: must be a non-empty array"},
      {"variant name with a slash", [](json& j) { j["variants"][1]["name"] = "a/b"; }, "variants[1].name: \"a/b\" must be"},
      {"duplicate variant name", [](json& j) { j["variants"][2]["name"] = "int8"; }, "variants[2].name: \"int8\" is used twice"},
      {"variant without config", [](json& j) { j["variants"][1].erase("config"); }, "variants[1].config: missing"},
      {"variant config file missing", [](json& j) { j["variants"][1]["config"] = "/nonexistent.json"; },
       "variants[1].config: /nonexistent.json does not exist"},
      {"bad inline quantization config", [](json& j) { j["variants"][2]["config"]["precision"]["enc_ffn"] = 7; },
       "variants[2].config: precision.enc_ffn"},
      {"config of the wrong type", [](json& j) { j["variants"][2]["config"] = 8; },
       "variants[2].config: must be \"fp32\", \"search\", a file name or an object, not a number"},
      {"\"search\" variant without the search stage", [](json& j) { j.erase("search"); j["export"]["variants"] = {"int8"}; },
       "variants[3].config: \"search\" needs a \"search\" section"},
      {"static INT8 without the calibrate stage", [](json& j) { j.erase("calibrate"); },
       "variants[1]: uses a calibration"},
      {"static INT8 with the calibration switched off", [](json& j) { j["variants"][1]["calibration"] = false; },
       "variants[1].calibration: the config asks for static activations"},
      {"calibration on the fp32 variant", [](json& j) { j["variants"][0]["calibration"] = true; },
       "variants[0].calibration: the fp32 variant is the checkpoint itself"},
      {"evaluate without test data", [](json& j) { j["data"].erase("test_ref"); }, "evaluate: needs data.test_src and data.test_ref"},
      {"beam of the wrong type", [](json& j) { j["evaluate"]["beam"] = "4"; }, "evaluate.beam: must be an integer"},
      {"bench flag of the wrong type", [](json& j) { j["bench"]["batch1"] = 1; }, "bench.batch1: must be true or false"},
      {"export of an unknown variant", [](json& j) { j["export"]["variants"] = {"int9"}; },
       "export.variants[0]: no variant is named \"int9\""},
      {"export of the fp32 checkpoint", [](json& j) { j["export"]["variants"] = {"fp32"}; },
       "export.variants[0]: \"fp32\" is the FP32 checkpoint itself"},
      {"output_dir is a file", [](json& j) { j["output_dir"] = test::source_dir() + "/README.md"; },
       "output_dir: " },
      {"threads negative", [](json& j) { j["threads"] = -1; }, "threads: must be an integer from 0"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    json j = valid();
    c.edit(j);
    const std::string m = refusal(j);
    CHECK_MESSAGE(m.find(c.expect) != std::string::npos, m);
  }
  CHECK_FALSE(fs::exists(scratch() / "out"));  // no refusal created anything
}

TEST_CASE("not JSON, or not an object, is refused on one line") {
  const std::string file = (scratch() / "p.json").string();
  CHECK_THROWS_WITH_AS(pipeline::parse_pipeline_config("{\"version\": 1,", file),
                       doctest::Contains("not valid JSON"), Error);
  CHECK_THROWS_WITH_AS(pipeline::parse_pipeline_config("[1]", file), doctest::Contains("must be a JSON object"), Error);
  CHECK_THROWS_WITH_AS(pipeline::read_pipeline_config((scratch() / "none.json").string()),
                       doctest::Contains("no such config file"), Error);
}

TEST_CASE("the shipped pipeline configs are valid") {
  CHECK_NOTHROW(pipeline::read_pipeline_config(test::source_dir() + "/configs/demo.json"));
  if (!test::have_shared()) return;  // the paper configs run on the kit's small model
  for (const char* f : {"paper-int8.json", "paper-lowbit.json"}) {
    CAPTURE(f);
    CHECK_NOTHROW(pipeline::read_pipeline_config(test::source_dir() + "/configs/" + f));
  }
}

TEST_CASE("a gptq variant makes the calibrate stage write the hessians") {
  json j = valid();
  pipeline::PipelineConfig c = pipeline::parse_pipeline_config(j.dump(), (scratch() / "pipeline.json").string());
  CHECK_FALSE(c.calibrate->hessians);
  CHECK_FALSE(c.variants[2].use_hessians);
  j["variants"][2]["config"]["binary_code"] = {{"gptq", {{"act_order", true}}}};
  c = pipeline::parse_pipeline_config(j.dump(), (scratch() / "pipeline.json").string());
  CHECK(c.calibrate->hessians);
  CHECK(c.variants[2].use_hessians);
  CHECK_FALSE(c.variants[1].use_hessians);
}
