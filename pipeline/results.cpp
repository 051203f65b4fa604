#include "pipeline/results.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "calibrate/calibration.h"
#include "checkpoint/checkpoint.h"
#include "model/bit_budget.h"
#include "util/file.h"
#include "util/json.h"

namespace qtool::pipeline {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json read_if_exists(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return nullptr;
  return parse_json_object(read_text_file(path), path);
}

std::string layer_type(const std::string& t) {
  if (t.rfind("int8", 0) == 0) return "int8";
  if (t.rfind("binary", 0) == 0) return "binary_code";
  if (t.rfind("clustered", 0) == 0) return "clustered";
  return "fp32";
}

// Bits per block and the per-layer assignments (the report's heat map).
void add_bits(json& v, const std::vector<TensorBits>& rows) {
  auto blocks = [](const std::map<std::string, double>& avg) {
    json a = json::object();
    for (const char* b : {"embedding", "encoder", "decoder", "output", "all"})
      a[std::string(b) == "output" ? "output_projection" : b] = avg.count(b) ? json(avg.at(b)) : json(nullptr);
    return a;
  };
  v["average_bits"] = blocks(average_bits(rows));  // stored: scales and tables included
  v["code_bits"] = blocks(average_code_bits(rows));
  json layers = json::array();
  for (const TensorBits& r : rows) {
    if (!r.matrix) continue;
    const TensorPlace p = place_of(r.name);
    layers.push_back({{"block", p.block == "output" ? "output_projection" : p.block},
                      {"layer", p.layer < 0 ? json(nullptr) : json(p.layer)},
                      {"tensor", p.tensor},
                      {"type", layer_type(r.type)},
                      {"bits", r.code_bits}});
  }
  v["layers"] = layers;
}

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

json collect_results(const PipelineConfig& c, const std::string& fp32_weights, const std::string& calibration_file,
                     const std::string& search_table_file) {
  const int64_t fp32_bytes = static_cast<int64_t>(fs::file_size(fp32_weights));
  json r = {{"format", "qtool-pipeline-results"}, {"version", 1}, {"pipeline", c.name}, {"model", c.model},
            {"created", now_utc()}, {"fp32_bytes", fp32_bytes}};
  r["test"] = nullptr;
  if (!c.data.test_src.empty()) {
    size_t n = read_lines(c.data.test_src).size();
    if (c.evaluate && c.evaluate->sentences > 0) n = std::min<size_t>(n, c.evaluate->sentences);
    r["test"] = {{"src", c.data.test_src}, {"ref", c.data.test_ref}, {"sentences", n}};
  }
  json variants = json::array();
  for (const VariantSpec& spec : c.variants) {
    const std::string dir = (fs::path(c.output_dir) / "variants" / spec.name).string();
    const bool fp32 = spec.source == VariantSpec::Source::fp32;
    const std::string path = fp32 ? fp32_weights : dir + "/model.qtm";
    json v = {{"name", spec.name}, {"path", path}};
    std::error_code ec;
    if (fp32) {
      v["kind"] = "fp32";
      v["bytes"] = fp32_bytes;
      add_bits(v, tensor_bits(checkpoint::load_checkpoint(c.model, /*keep_raw=*/true).raw));
    } else if (fs::is_regular_file(path, ec)) {
      v["bytes"] = static_cast<int64_t>(fs::file_size(path));
      add_bits(v, tensor_bits(read_qtm(path)));
      const double all = v["average_bits"]["all"].is_number() ? v["average_bits"]["all"].get<double>() : 32.0;
      bool binary = false, int8 = false;
      for (const json& l : v["layers"]) {
        binary |= l["type"] == "binary_code" || l["type"] == "clustered";
        int8 |= l["type"] == "int8";
      }
      v["kind"] = binary && int8 ? "mixed" : binary ? "lowbit" : int8 ? "int8" : all < 32 ? "mixed" : "fp32";
    } else {
      v["kind"] = "missing";  // its quantize stage has not run (pipeline --only)
      v["bytes"] = nullptr;
    }
    const json e = read_if_exists(dir + "/eval.json");
    v["bleu"] = e.is_null() ? json(nullptr)
                            : json{{"greedy", e["greedy"]["bleu"]},
                                   {"beam", e["beam"].is_null() ? json(nullptr) : e["beam"]["bleu"]},
                                   {"beam_size", e["beam"].is_null() ? json(1) : e["beam"]["beam_size"]},
                                   {"sentences", e["sentences"]}};
    const json b = read_if_exists(dir + "/bench.json");
    v["speed"] = b.is_null() ? json(nullptr)
                             : json{{"tokens_per_second", b["tokens_per_second"]}, {"batch", b["batch"]},
                                    {"threads", b["threads"]}, {"sentences", b["sentences"]},
                                    {"batch1_ms_per_sentence", b["batch1_ms_per_sentence"]},
                                    {"peak_rss_mib", b["peak_rss_mib"]}, {"kernels", b["kernels"]}};
    variants.push_back(std::move(v));
  }
  r["variants"] = variants;

  r["calibration"] = nullptr;
  if (c.calibrate) {
    std::error_code ec;
    if (fs::is_regular_file(calibration_file, ec)) {
      const calibrate::Calibration cal =
          calibrate::parse_calibration(read_text_file(calibration_file), calibration_file);
      json tensors = json::array();
      for (const auto& [name, s] : cal.tensors) {
        json t = {{"name", name}, {"one_sided", s.one_sided}, {"threshold", s.threshold}, {"max_abs", s.max_abs},
                  {"zero_point", s.asymmetric ? json(s.zero_point) : json(nullptr)}};
        if (s.static_error >= 0) {
          t["chosen_by"] = s.chosen_by;
          t["clipped_fraction"] = s.clipped_fraction;
          t["output_error"] = {{"static", s.static_error}, {"dynamic", s.dynamic_error}};
          t["int8_input"] = calibrate::input_mode_name(s.int8_input);
        }
        t["histogram"] = s.histogram_counts.empty()
                             ? json(nullptr)
                             : json{{"range", s.histogram_range}, {"counts", s.histogram_counts}};
        tensors.push_back(std::move(t));
      }
      r["calibration"] = {{"method", calibrate::method_name(cal.method)}, {"sentences", cal.sentences},
                          {"bins", cal.bins}, {"tensors", tensors}};
    }
  }
  r["search"] = nullptr;
  if (c.search) {
    const json t = read_if_exists(search_table_file);
    if (!t.is_null()) {
      json steps = json::array();
      for (size_t i = 0; i < t["steps"].size(); ++i) {
        const json& s = t["steps"][i];
        steps.push_back({{"step", i}, {"average_bits", s["average_bits"]}, {"bytes", s["weight_bytes"]},
                         {"dev_bleu", s["dev_bleu"]}, {"change", s["change"]}});
      }
      r["search"] = {{"target_bits", c.search->options.target_bits > 0 ? json(c.search->options.target_bits)
                                                                       : json(nullptr)},
                     {"max_bleu_drop", c.search->options.max_bleu_drop >= 0
                                           ? json(c.search->options.max_bleu_drop) : json(nullptr)},
                     {"fp32_dev_bleu", t["fp32_dev_bleu"]}, {"steps", steps}};
    }
  }
  return r;
}

std::string variants_text_table(const json& results) {
  auto num = [](const json& v, const char* fmt) {
    if (!v.is_number()) return std::string("—");
    char b[32];
    std::snprintf(b, sizeof b, fmt, v.get<double>());
    return std::string(b);
  };
  auto get = [](const json& v, const char* a, const char* b) { return v.contains(a) && v[a].is_object() && v[a].contains(b) ? v[a][b] : json(nullptr); };
  std::string t =
      "| variant | bits emb/enc/dec | bits all | MB | ×smaller | BLEU greedy | BLEU beam | tokens/s | batch-1 ms | peak RSS MiB |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  const double fp32 = results["fp32_bytes"].get<double>();
  for (const json& v : results["variants"]) {
    const json bytes = v["bytes"];
    t += "| " + v["name"].get<std::string>() + " | " + num(get(v, "average_bits", "embedding"), "%.2f") + "/" +
         num(get(v, "average_bits", "encoder"), "%.2f") + "/" + num(get(v, "average_bits", "decoder"), "%.2f") +
         " | " + num(get(v, "average_bits", "all"), "%.2f") + " | " +
         num(bytes.is_number() ? json(bytes.get<double>() / 1e6) : json(nullptr), "%.2f") + " | " +
         num(bytes.is_number() ? json(fp32 / bytes.get<double>()) : json(nullptr), "%.2fx") + " | " +
         num(get(v, "bleu", "greedy"), "%.2f") + " | " + num(get(v, "bleu", "beam"), "%.2f") + " | " +
         num(get(v, "speed", "tokens_per_second"), "%.0f") + " | " +
         num(get(v, "speed", "batch1_ms_per_sentence"), "%.2f") + " | " + num(get(v, "speed", "peak_rss_mib"), "%.1f") +
         " |\n";
  }
  return t;
}

}  // namespace qtool::pipeline
