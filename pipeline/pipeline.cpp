#include "pipeline/pipeline.h"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "pipeline/report_html.h"
#include "pipeline/results.h"
#include "pipeline/stages.h"
#include "util/content_hash.h"
#include "util/error.h"
#include "util/file.h"
#include "util/json.h"

namespace qtool::pipeline {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// One unit of work: what decides its outputs (`inputs`, evaluated when the stage
// is reached, after the stages before it ran), the files it writes, and the work.
struct Stage {
  std::string id;  // "calibrate", "quantize/int8-kl", …
  std::function<json()> inputs;
  std::vector<std::string> outputs;  // paths
  std::function<void()> work;
};

std::string record_path(const PipelineConfig& c, const std::string& id) {
  std::string name = id;
  for (char& ch : name)
    if (ch == '/') ch = '.';
  return (fs::path(c.output_dir) / "stages" / (name + ".json")).string();
}

// The record still describes the outputs on disk, for these inputs.
bool up_to_date(const std::string& record_file, const std::string& key, const std::vector<std::string>& outputs) {
  std::error_code ec;
  if (!fs::is_regular_file(record_file, ec)) return false;
  json r;
  try {
    r = parse_json_object(read_text_file(record_file), record_file);
  } catch (const Error&) {
    return false;  // a damaged record only means the stage runs again
  }
  if (!r.contains("key") || r["key"] != key || !r.contains("outputs") || !r["outputs"].is_object()) return false;
  for (const std::string& o : outputs) {
    if (!r["outputs"].contains(o) || !fs::is_regular_file(o, ec)) return false;
    if (r["outputs"][o] != hash_file(o)) return false;
  }
  return true;
}

bool selected(const std::string& only, const std::string& id) {
  return only.empty() || id == only || id.rfind(only + "/", 0) == 0;
}

std::string weights_file_of(const std::string& model) {
  if (!fs::is_directory(model)) return model;
  for (const char* f : {"model.safetensors", "model.h5"})
    if (fs::exists(fs::path(model) / f)) return (fs::path(model) / f).string();
  return model;
}

}  // namespace

PipelineRun run_pipeline(const PipelineConfig& c, const PipelineOptions& o) {
  const fs::path out = c.output_dir;
  fs::create_directories(out / "stages");
  auto at = [&](const std::string& rel) { return (out / rel).string(); };
  const std::string model_hash = hash_path(c.model);
  auto h = [](const std::string& path) { return path.empty() ? json(nullptr) : json(hash_file(path)); };
  auto section = [&](const char* key) { return c.json.contains(key) ? c.json[key] : json(nullptr); };
  runtime::set_num_threads(c.threads);
  omp_set_num_threads(runtime::num_threads());  // the quantizer's loops (GPTQ, codes) are OpenMP

  std::vector<Stage> stages;
  const std::string calib_json = at("calib.json"), plan_json = at("search/plan.json"),
                    table_json = at("search/table.json"), hessians_bin = at("hessians.bin");
  if (c.calibrate)
    stages.push_back({"calibrate",
                      [&] {
                        json key{{"model", model_hash}, {"data", h(c.data.calibration)},
                                 {"config", section("calibrate")}};
                        if (c.calibrate->hessians) key["hessians"] = true;  // absent: earlier runs stay valid
                        return key;
                      },
                      c.calibrate->hessians ? std::vector<std::string>{calib_json, hessians_bin}
                                            : std::vector<std::string>{calib_json},
                      [&] {
                        CalibrateJob job{c.model, c.data.calibration, calib_json, c.calibrate->sentences,
                                         c.calibrate->options, c.calibrate->hessians ? hessians_bin : ""};
                        job.options.progress = o.progress;
                        run_calibrate(job);
                      }});
  if (c.search)
    stages.push_back({"search",
                      [&] {
                        return json{{"model", model_hash}, {"dev_src", h(c.data.dev_src)},
                                    {"dev_ref", h(c.data.dev_ref)}, {"token_counts", h(c.data.token_counts)},
                                    {"calibration", c.search->activation_aware ? h(calib_json) : json(nullptr)},
                                    {"config", section("search")}};
                      },
                      {plan_json, table_json},
                      [&] {
                        fs::create_directories(out / "search");
                        SearchJob job{c.model, c.data.dev_src, c.data.dev_ref, plan_json,
                                      c.search->activation_aware ? calib_json : "", c.data.token_counts,
                                      table_json, c.search->options};
                        job.options.progress = o.progress;
                        run_search(job, [&](const std::string& line) {
                          if (o.progress) std::fprintf(stderr, "  %s\n", line.c_str());
                        });
                      }});
  for (const VariantSpec& v : c.variants) {
    const std::string dir = at("variants/" + v.name), qtm = dir + "/model.qtm";
    const std::string model_path = v.source == VariantSpec::Source::fp32 ? c.model : qtm;
    if (v.source != VariantSpec::Source::fp32)
      stages.push_back({"quantize/" + v.name,
                        [&, plan_json] {
                          const json config = v.source == VariantSpec::Source::search ? h(plan_json)
                                                                                      : json(hash_text(v.config_text));
                          json key{{"model", model_hash}, {"config", config},
                                   {"calibration", v.use_calibration ? h(calib_json) : json(nullptr)},
                                   {"token_counts", v.use_token_counts ? h(c.data.token_counts) : json(nullptr)}};
                          if (v.use_hessians) key["hessians"] = h(hessians_bin);  // absent: earlier runs stay valid
                          return key;
                        },
                        {qtm, dir + "/tensors.json"},
                        [&, dir, qtm, plan_json] {
                          fs::create_directories(dir);
                          const bool searched = v.source == VariantSpec::Source::search;
                          QuantizeJob job{c.model,
                                          searched ? read_text_file(plan_json) : v.config_text,
                                          searched ? plan_json : (v.config_file.empty() ? c.file + ": variants." + v.name + ".config" : v.config_file),
                                          v.use_calibration ? calib_json : "",
                                          v.use_token_counts ? c.data.token_counts : "",
                                          qtm,
                                          dir + "/tensors.json",
                                          o.progress,
                                          v.use_hessians ? hessians_bin : "",
                                          ""};
                          run_quantize(job);
                        }});
    const std::string model_key_path = model_path;
    auto model_key = [&, model_key_path, fp32 = v.source == VariantSpec::Source::fp32] {
      return fp32 ? json(model_hash) : h(model_key_path);
    };
    if (c.evaluate) {
      const int beam = c.evaluate->beam;
      std::vector<std::string> outs{dir + "/eval.json", dir + "/test.greedy.txt"};
      if (beam > 1) outs.push_back(dir + "/test.beam" + std::to_string(beam) + ".txt");
      stages.push_back({"evaluate/" + v.name,
                        [&, model_key] {
                          return json{{"model", model_key()}, {"test_src", h(c.data.test_src)},
                                      {"test_ref", h(c.data.test_ref)}, {"config", section("evaluate")}};
                        },
                        outs,
                        [&, dir, model_path, outs] {
                          fs::create_directories(dir);
                          const EvaluateSpec& e = *c.evaluate;
                          run_evaluate({model_path, c.data.test_src, c.data.test_ref, e.beam, e.sentences, e.batch,
                                        outs[0], outs[1], outs.size() > 2 ? outs[2] : "", o.progress});
                        }});
    }
    if (c.bench)
      stages.push_back({"bench/" + v.name,
                        [&, model_key] {
                          return json{{"model", model_key()}, {"test_src", h(c.data.test_src)},
                                      {"config", section("bench")}};
                        },
                        {dir + "/bench.json"},
                        [&, dir, model_path] {
                          fs::create_directories(dir);
                          const BenchSpec& b = *c.bench;
                          const BenchJob job{model_path, c.data.test_src, b.sentences, b.batch,
                                             b.threads ? b.threads : c.threads, b.batch1, o.progress};
                          write_file_atomic(dir + "/bench.json", run_bench(job).dump(1) + "\n");
                        }});
  }
  if (c.exporter) {
    std::vector<std::string> outs;
    for (const std::string& n : c.exporter->variants) outs.push_back(c.exporter->dir + "/" + n + ".qtm");
    outs.push_back(c.exporter->dir + "/manifest.json");
    stages.push_back({"export",
                      [&] {
                        json in = {{"config", section("export")}};
                        for (const std::string& n : c.exporter->variants) in[n] = h(at("variants/" + n + "/model.qtm"));
                        return in;
                      },
                      outs,
                      [&] {
                        ExportJob job{c.exporter->dir, {}};
                        for (const std::string& n : c.exporter->variants)
                          job.models.emplace_back(n, at("variants/" + n + "/model.qtm"));
                        run_export(job);
                      }});
  }

  if (!o.only.empty()) {
    bool any = false;
    for (const Stage& s : stages) any |= selected(o.only, s.id);
    if (!any) {
      std::string ids;
      for (const Stage& s : stages) ids += (ids.empty() ? "" : ", ") + s.id;
      throw Error("pipeline: --only " + o.only + ": no such stage in " + c.file + " (stages: " + ids + ")");
    }
  }

  PipelineRun run;
  const int n = static_cast<int>(stages.size());
  for (int i = 0; i < n; ++i) {
    const Stage& s = stages[i];
    const json inputs = s.inputs();
    const std::string key = hash_text(inputs.dump()), record = record_path(c, s.id);
    const bool fresh = up_to_date(record, key, s.outputs);
    char head[96];
    std::snprintf(head, sizeof head, "[%d/%d] %-28s", i + 1, n, s.id.c_str());
    if (!selected(o.only, s.id)) {
      if (!fresh)
        throw Error("pipeline: --only " + o.only + " needs stage " + s.id +
                    " done and up to date first; run the pipeline without --only");
      continue;
    }
    if (fresh && !o.force) {
      ++run.skipped;
      if (o.progress) std::fprintf(stderr, "%s skipped (inputs unchanged)\n", head);
      continue;
    }
    if (o.progress) std::fprintf(stderr, "%s running\n", head);
    const auto t0 = std::chrono::steady_clock::now();
    s.work();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json outputs = json::object();
    for (const std::string& f : s.outputs) outputs[f] = hash_file(f);
    // The record goes last: a stage interrupted before this point has no record and runs again.
    write_file_atomic(record, json{{"stage", s.id}, {"key", key}, {"inputs", inputs}, {"outputs", outputs},
                                   {"seconds", seconds}}.dump(1) + "\n");
    ++run.ran;
    if (o.progress) std::fprintf(stderr, "%s done in %.1f s\n", head, seconds);
  }

  run.results = collect_results(c, weights_file_of(c.model), calib_json, table_json);
  write_file_atomic(at("results.json"), run.results.dump(1) + "\n");
  write_file_atomic(at("report.html"), render_report_html(run.results));
  run.table = variants_text_table(run.results);
  return run;
}

}  // namespace qtool::pipeline
