#include "pipeline/pipeline_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>

#include "quantize/config.h"
#include "util/error.h"
#include "util/file.h"
#include "util/json.h"

namespace qtool::pipeline {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> d(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = d[0];
    d[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = d[j];
      d[j] = std::min({d[j] + 1, d[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return d[b.size()];
}

const char* type_name(const json& v) {
  return v.is_object() ? "an object" : v.is_array() ? "an array" : v.is_string() ? "a string"
         : v.is_boolean() ? "a boolean" : v.is_number() ? "a number" : "null";
}

// One JSON object of the config, read with its path: unknown keys, missing keys
// and wrong types are errors "<file>: <path>.<key>: <what>".
class Section {
 public:
  Section(const json& j, std::string path, const std::string& file, std::vector<std::string> keys)
      : j_(j), path_(std::move(path)), file_(file) {
    if (!j.is_object()) fail(file_, where() + "must be an object, not " + type_name(j));
    for (const auto& [k, v] : j.items()) {
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) continue;
      std::string hint, best;
      size_t best_d = 3;
      for (const std::string& c : keys)
        if (size_t d = edit_distance(k, c); d < best_d) best_d = d, best = c;
      hint = best.empty() ? "; known keys: " + join(keys) : "; did you mean \"" + best + "\"?";
      fail(file_, at(k) + ": unknown key" + hint);
    }
  }
  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  const json& raw(const char* key) const { return j_[key]; }
  std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  std::string string(const char* key, bool required) const {
    if (!has(key)) {
      if (required) fail(file_, at(key) + ": missing (a string)");
      return "";
    }
    if (!j_[key].is_string() || j_[key].get<std::string>().empty())
      fail(file_, at(key) + ": must be a non-empty string, not " + type_name(j_[key]));
    return j_[key];
  }
  int integer(const char* key, int def, int lo, int hi) const {
    if (!has(key)) return def;
    const json& v = j_[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      fail(file_, at(key) + ": must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                      ", not " + v.dump());
    return v.get<int>();
  }
  double number(const char* key, double def, double lo, double hi) const {
    if (!has(key)) return def;
    const json& v = j_[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo || v.get<double>() > hi)
      fail(file_, at(key) + ": must be a number from " + fmt(lo) + " to " + fmt(hi) + ", not " + v.dump());
    return v.get<double>();
  }
  bool boolean(const char* key, bool def) const {
    if (!has(key)) return def;
    if (!j_[key].is_boolean()) fail(file_, at(key) + ": must be true or false, not " + j_[key].dump());
    return j_[key];
  }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }
  static std::string fmt(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", x);
    return b;
  }
  std::string where() const { return path_.empty() ? "the top level: " : path_ + ": "; }
  const json& j_;
  std::string path_;
  const std::string& file_;
};

std::string resolve(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

void need_file(const std::string& file, const std::string& jpath, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    fail(file, jpath + ": " + path + " does not exist (relative paths are from the config file's directory)");
  if (!fs::is_regular_file(path, ec)) fail(file, jpath + ": " + path + " is not a file");
}

}  // namespace

PipelineConfig parse_pipeline_config(const std::string& text, const std::string& file) {
  const json j = parse_json_object(text, file);
  const std::string base = fs::path(file).parent_path().string();
  Section top(j, "", file,
              {"version", "name", "description", "model", "output_dir", "threads", "data", "calibrate", "search",
               "variants", "evaluate", "bench", "export"});
  if (!j.contains("version") || j["version"] != 1)
    fail(file, "version: must be 1 (this qtool reads pipeline configs of version 1)");
  PipelineConfig c;
  c.file = file;
  c.json = j;
  c.name = top.has("name") ? top.string("name", true) : fs::path(file).stem().string();
  if (top.has("description")) top.string("description", true);
  c.model = resolve(base, top.string("model", true));
  std::error_code ec;
  if (!fs::exists(c.model, ec))
    fail(file, "model: " + c.model + " does not exist (a checkpoint directory or .h5 file; relative paths are "
               "from the config file's directory)");
  c.output_dir = resolve(base, top.string("output_dir", true));
  if (fs::exists(c.output_dir, ec) && !fs::is_directory(c.output_dir, ec))
    fail(file, "output_dir: " + c.output_dir + " exists and is not a directory");
  c.threads = top.integer("threads", 0, 0, 1024);

  if (top.has("data")) {
    Section d(j["data"], "data", file,
              {"calibration", "dev_src", "dev_ref", "test_src", "test_ref", "token_counts"});
    std::string* fields[] = {&c.data.calibration, &c.data.dev_src, &c.data.dev_ref,
                             &c.data.test_src,    &c.data.test_ref, &c.data.token_counts};
    const char* names[] = {"calibration", "dev_src", "dev_ref", "test_src", "test_ref", "token_counts"};
    for (int i = 0; i < 6; ++i) {
      *fields[i] = resolve(base, d.string(names[i], false));
      if (!fields[i]->empty()) need_file(file, d.at(names[i]), *fields[i]);
    }
  }

  if (top.has("calibrate")) {
    Section s(j["calibrate"], "calibrate", file, {"sentences", "method", "bins", "percentile"});
    if (c.data.calibration.empty())
      fail(file, "calibrate: needs data.calibration (source sentences from the training side, never test)");
    CalibrateSpec spec;
    spec.sentences = s.integer("sentences", 500, 1, 10000000);
    try {
      if (s.has("method")) spec.options.method = calibrate::parse_method(s.string("method", true));
    } catch (const Error& e) {
      fail(file, "calibrate.method: " + std::string(e.what()));
    }
    spec.options.bins = s.integer("bins", 2048, 256, 8192);
    if (spec.options.bins & (spec.options.bins - 1)) fail(file, "calibrate.bins: must be a power of two");
    spec.options.percentile = s.number("percentile", 99.99, 50.0, 100.0);
    c.calibrate = spec;
  }

  if (top.has("search")) {
    Section s(j["search"], "search", file,
              {"target_bits", "max_bleu_drop", "sentences", "sensitivity_sentences", "ratio", "iterations",
               "group_size", "streams", "activation_aware", "criterion"});
    if (c.data.dev_src.empty() || c.data.dev_ref.empty())
      fail(file, "search: needs data.dev_src and data.dev_ref (the search measures dev BLEU, never test)");
    if (s.has("target_bits") == s.has("max_bleu_drop"))
      fail(file, "search: give exactly one of target_bits and max_bleu_drop");
    SearchSpec spec;
    spec.options.target_bits = s.number("target_bits", 0, 1.0, 32.0);
    spec.options.max_bleu_drop = s.number("max_bleu_drop", -1, 0.0, 100.0);
    spec.options.sentences = s.integer("sentences", 0, 0, 10000000);
    spec.options.sensitivity_sentences = s.integer("sensitivity_sentences", 0, 0, 10000000);
    spec.options.embedding_ratio = s.number("ratio", 1.0, 0.1, 10.0);
    spec.options.binary.iterations = s.integer("iterations", spec.options.binary.iterations, 0, 1000);
    spec.options.binary.group_size = s.integer("group_size", 0, 0, 1 << 20);
    spec.options.streams = s.integer("streams", spec.options.streams, 1, 256);
    if (s.has("criterion")) {
      const json& k = s.raw("criterion");
      if (!k.is_string() || !search::criterion_from_name(k, &spec.options.criterion))
        fail(file, "search.criterion: must be \"nll\" or \"bleu\", not " + k.dump());
    }
    spec.activation_aware = s.boolean("activation_aware", false);
    if (spec.activation_aware && !c.calibrate)
      fail(file, "search.activation_aware: needs the \"calibrate\" stage (the column weights come from it)");
    c.search = spec;
  }

  if (!j.contains("variants") || !j["variants"].is_array() || j["variants"].empty())
    fail(file, "variants: must be a non-empty array of {\"name\", \"config\"}");
  std::set<std::string> names;
  static const std::regex name_re("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  for (size_t i = 0; i < j["variants"].size(); ++i) {
    const std::string vp = "variants[" + std::to_string(i) + "]";
    Section s(j["variants"][i], vp, file, {"name", "config", "calibration", "description"});
    VariantSpec v;
    v.name = s.string("name", true);
    if (!std::regex_match(v.name, name_re))
      fail(file, vp + ".name: \"" + v.name + "\" must be letters, digits, '.', '_' or '-' (it names a folder)");
    if (!names.insert(v.name).second) fail(file, vp + ".name: \"" + v.name + "\" is used twice");
    if (!s.has("config"))
      fail(file, vp + ".config: missing (\"fp32\", \"search\", a quantization config file or an inline config)");
    const json& cfg = s.raw("config");
    const std::string cp = vp + ".config";
    std::string config_name;
    if (cfg.is_string() && cfg == "fp32") {
      v.source = VariantSpec::Source::fp32;
    } else if (cfg.is_string() && cfg == "search") {
      v.source = VariantSpec::Source::search;
      if (!c.search) fail(file, cp + ": \"search\" needs a \"search\" section (the stage that finds the plan)");
    } else if (cfg.is_string()) {
      v.source = VariantSpec::Source::file;
      v.config_file = resolve(base, cfg.get<std::string>());
      need_file(file, cp, v.config_file);
      v.config_text = read_text_file(v.config_file);
      config_name = v.config_file;
    } else if (cfg.is_object()) {
      v.source = VariantSpec::Source::inline_config;
      v.config_text = cfg.dump(1);
      config_name = file + ": " + cp;
    } else {
      fail(file, cp + ": must be \"fp32\", \"search\", a file name or an object, not " + type_name(cfg));
    }
    bool static_act = false, clustered = false, has_plan = v.source == VariantSpec::Source::search;
    if (!config_name.empty()) {
      const quantize::QuantizeConfig qc = quantize::parse_quantize_config(v.config_text, config_name);
      static_act = qc.activations == "static";
      clustered = qc.has_plan && qc.plan.embedding_clusters > 0;
      has_plan = qc.has_plan;
      v.use_hessians = qc.gptq;
    }
    if (v.source == VariantSpec::Source::search) clustered = false;  // the plan records its counts and hessians
    const bool searched_aware = v.source == VariantSpec::Source::search && c.search->activation_aware;
    v.use_calibration = s.boolean("calibration", static_act || searched_aware);
    if (v.source == VariantSpec::Source::fp32 && s.has("calibration"))
      fail(file, vp + ".calibration: the fp32 variant is the checkpoint itself; nothing uses a calibration");
    if (static_act && !v.use_calibration)
      fail(file, vp + ".calibration: the config asks for static activations, which need the calibration");
    if (v.use_calibration && !c.calibrate)
      fail(file, vp + ": uses a calibration (static INT8 activations or activation-aware binary code) but there "
                      "is no \"calibrate\" section");
    if (v.use_calibration && !static_act && !has_plan)
      fail(file, vp + ".calibration: a dynamic INT8 config without a precision plan does not use a calibration");
    if (v.use_hessians && !c.calibrate)
      fail(file, cp + ": binary_code.gptq needs the \"calibrate\" stage (it writes the input hessians)");
    if (v.use_hessians) c.calibrate->hessians = true;
    // Without data.token_counts a clustered embedding takes the tokenizer's frequencies.
    v.use_token_counts = clustered && !c.data.token_counts.empty();
    c.variants.push_back(std::move(v));
  }

  if (top.has("evaluate")) {
    Section s(j["evaluate"], "evaluate", file, {"beam", "sentences", "batch"});
    if (c.data.test_src.empty() || c.data.test_ref.empty())
      fail(file, "evaluate: needs data.test_src and data.test_ref");
    c.evaluate = EvaluateSpec{s.integer("beam", 4, 1, 64), s.integer("sentences", 0, 0, 10000000),
                              s.integer("batch", 32, 1, 4096)};
  }
  if (top.has("bench")) {
    Section s(j["bench"], "bench", file, {"sentences", "batch", "threads", "batch1"});
    if (c.data.test_src.empty()) fail(file, "bench: needs data.test_src (the sentences to time)");
    c.bench = BenchSpec{s.integer("sentences", 200, 1, 10000000), s.integer("batch", 32, 1, 4096),
                        s.integer("threads", 0, 0, 1024), s.boolean("batch1", true)};
  }
  if (top.has("export")) {
    Section s(j["export"], "export", file, {"dir", "variants"});
    ExportSpec e;
    e.dir = s.string("dir", true);
    if (!fs::path(e.dir).is_absolute()) e.dir = (fs::path(c.output_dir) / e.dir).lexically_normal().string();
    if (!s.has("variants") || !s.raw("variants").is_array() || s.raw("variants").empty())
      fail(file, "export.variants: must be a non-empty array of variant names");
    for (size_t i = 0; i < s.raw("variants").size(); ++i) {
      const json& n = s.raw("variants")[i];
      const std::string p = "export.variants[" + std::to_string(i) + "]";
      if (!n.is_string()) fail(file, p + ": must be a variant name");
      auto it = std::find_if(c.variants.begin(), c.variants.end(), [&](const VariantSpec& v) { return v.name == n; });
      if (it == c.variants.end()) fail(file, p + ": no variant is named " + n.dump());
      if (it->source == VariantSpec::Source::fp32)
        fail(file, p + ": " + n.dump() + " is the FP32 checkpoint itself; export packs quantized .qtm files");
      e.variants.push_back(n);
    }
    c.exporter = e;
  }
  return c;
}

PipelineConfig read_pipeline_config(const std::string& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) fail(file, "no such config file");
  return parse_pipeline_config(read_text_file(file), file);
}

}  // namespace qtool::pipeline
