#include "pipeline/stages.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "calibrate/input_hessians.h"
#include "pipeline/block_reconstruction.h"
#include "pipeline/sequential_gptq.h"
#include "checkpoint/checkpoint.h"
#include "eval/bleu.h"
#include "model/qtm.h"
#include "pipeline/model_loader.h"
#include "pipeline/subprocess.h"
#include "quantize/token_counts.h"
#include "util/content_hash.h"
#include "util/error.h"
#include "util/file.h"
#include "util/progress.h"

namespace qtool::pipeline {
namespace {

std::vector<std::string> non_empty_lines(const std::string& path) {
  std::vector<std::string> lines = read_lines(path);
  if (lines.empty()) fail(path, "input file is empty");
  return lines;
}

calibrate::Calibration read_calibration_for(const std::string& file, const checkpoint::Checkpoint& ck) {
  calibrate::Calibration c = calibrate::parse_calibration(read_text_file(file), file);
  const std::string sum = calibrate::model_checksum(ck.weights_file);
  if (sum != c.model_checksum)
    throw Error(file + ": model_checksum " + c.model_checksum + " is for another model (" + ck.weights_file +
                " has " + sum + "); calibrate this model first");
  return c;
}

// The hessian file into the config (by calibration name), checked against the model.
void read_hessians_for(const std::string& file, const checkpoint::Checkpoint& ck, quantize::QuantizeConfig& qc) {
  calibrate::HessianSet h = calibrate::parse_hessians(read_text_file(file), file);
  const std::string sum = calibrate::model_checksum(ck.weights_file);
  if (sum != h.model_checksum)
    throw Error(file + ": model_checksum " + h.model_checksum + " is for another model (" + ck.weights_file +
                " has " + sum + "); calibrate this model first");
  qc.hessian_file = file;
  for (auto& [name, t] : h.tensors)
    qc.hessians[name] = std::make_shared<const std::vector<float>>(std::move(t.values));
}

// The clustered embeddings' counts: a counts file's, or with none the tokenizer's frequencies.
quantize::EmbeddingCounts counts_for(const std::string& file, const checkpoint::Checkpoint& ck,
                                     const Vocabulary& vocab) {
  if (file.empty())
    return quantize::embedding_counts(quantize::tokenizer_token_counts(vocab), vocab, ck.weights,
                                      ck.vocab_files.origin);
  return quantize::embedding_counts(quantize::parse_token_counts(read_text_file(file), file), vocab, ck.weights,
                                    file);
}

// What a searched plan is quantized with, computed from the source lines it
// records: GPTQ's H from the FP32 model translating them; the token counts from
// a counts file, or else the tokenizer's own frequencies.
struct PlanData {
  std::map<std::string, std::shared_ptr<const std::vector<float>>> hessians, means;
  quantize::EmbeddingCounts counts;
};

PlanData compute_plan_data(const checkpoint::Checkpoint& ck, std::shared_ptr<const Vocabulary> vocab,
                           const std::vector<std::string>& lines, const std::string& data_file,
                           const std::string& counts_file, bool progress) {
  PlanData d;
  d.counts = counts_for(counts_file, ck, *vocab);  // a bad file is refused before the pass
  runtime::MarianModel model(ck.weights);
  if (progress) std::fprintf(stderr, "hessians from %zu lines of %s\n", lines.size(), data_file.c_str());
  calibrate::HessianPass pass =
      calibrate::collect_hessians(model, vocab, lines, calibrate::model_checksum(ck.weights_file), progress);
  for (auto& [name, t] : pass.hessians.tensors)
    d.hessians[name] = std::make_shared<const std::vector<float>>(std::move(t.values));
  for (auto& [name, m] : pass.means) d.means[name] = std::make_shared<const std::vector<float>>(std::move(m));
  return d;
}

std::vector<std::string> first_lines(const std::string& file, int64_t n) {
  std::vector<std::string> lines = non_empty_lines(file);
  if (int64_t(lines.size()) > n) lines.resize(n);
  return lines;
}

// A searched plan's inputs, checked against what is on disk now; the first
// difference is refused, naming the input.
void check_plan_inputs(const quantize::PlanInputs& in, const std::string& model, const std::string& config_name) {
  auto check = [&](const char* field, const std::string& file, const std::string& recorded) {
    if (!std::filesystem::exists(file))
      throw Error(config_name + ": inputs." + field + ": " + file + " is missing (the plan was searched with it)");
    const std::string now = hash_path(file);
    if (now != recorded)
      throw Error(config_name + ": inputs." + field + ": " + file + " changed since the search (content hash " + now +
                  ", recorded " + recorded + ")");
  };
  check("model", model, in.model_hash);
  check("calibration_data", in.calibration_data, in.calibration_hash);
  if (!in.token_counts.empty()) check("token_counts", in.token_counts, in.token_counts_hash);
}

}  // namespace

calibrate::Calibration run_calibrate(const CalibrateJob& job) {
  check_distinct(job.data, job.output);
  check_distinct(model_input_files(job.model), job.output);
  if (!job.hessian_output.empty()) {
    check_distinct(std::vector<std::string>{job.data, job.output}, job.hessian_output);
    check_distinct(model_input_files(job.model), job.hessian_output);
  }
  std::vector<std::string> lines = non_empty_lines(job.data);
  if (static_cast<int>(lines.size()) > job.sentences) lines.resize(job.sentences);
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(job.model);
  check_distinct(ck.weights_file, job.output);
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  runtime::MarianModel m(ck.weights);
  calibrate::CalibrateOptions opt = job.options;
  opt.hessians = !job.hessian_output.empty();
  calibrate::Calibration cal = calibrate::calibrate(m, ck.weights, vocab, lines, opt, calibrate::model_checksum(ck.weights_file));
  if (opt.hessians) {
    calibrate::HessianSet h{cal.model_checksum, cal.sentences, std::move(cal.hessians)};
    write_file_atomic(job.hessian_output, calibrate::hessians_to_bytes(h));
  }
  write_file_atomic(job.output, calibrate::to_json(cal));
  return cal;
}

std::string tensor_report_json(const std::vector<quantize::TensorReport>& tensors,
                               const std::vector<InputReport>& inputs) {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& r : tensors) {
    t.push_back({{"name", r.name}, {"format", r.format}, {"params", r.params}, {"bits", r.bits},
                 {"relative_error", r.relative_error}});
    if (r.activation_aware) t.back()["weighted_relative_error"] = r.weighted_relative_error;
    if (r.gptq) {
      t.back()["output_error"] = r.output_error;
      t.back()["start_output_error"] = r.start_output_error;
    }
  }
  nlohmann::json report = {{"tensors", t}};
  if (!inputs.empty()) {
    nlohmann::json a = nlohmann::json::array();
    for (const InputReport& i : inputs) {
      a.push_back({{"name", i.name}, {"int8_input", i.used}, {"threshold", i.threshold}, {"low", i.low}});
      nlohmann::json& e = a.back();
      e["zero_point"] = i.zero_point >= 0 ? nlohmann::json(i.zero_point) : nlohmann::json(nullptr);
      if (!i.chosen_by.empty()) e["chosen_by"] = i.chosen_by;
      if (i.clipped_fraction >= 0) e["clipped_fraction"] = i.clipped_fraction;
      if (i.static_error >= 0) e["output_error"] = {{"static", i.static_error}, {"dynamic", i.dynamic_error}};
    }
    report["inputs"] = a;
  }
  return report.dump(1) + "\n";
}

namespace {

// With static activations: which inputs stay static, fall back to dynamic or to
// FP32 (config int8.fallback), as the report lists them; fills the FP32 set.
std::vector<InputReport> plan_inputs(const calibrate::Calibration& c, quantize::QuantizeConfig& qc, MarianWeights& w) {
  const bool tied_int8_output = qc.int8.embeddings && qc.int8.output_projection && w.output.weight == w.decoder_embed;
  std::vector<InputReport> out;
  for (const LinearProduct& p : linear_products(w)) {
    const std::string& name = p.name;
    auto it = c.tensors.find(name);
    if (it == c.tensors.end()) continue;
    const calibrate::TensorStats& t = it->second;
    InputReport r{name, t.chosen_by, "static", t.threshold, t.range().low(), t.asymmetric ? t.zero_point : -1,
                  t.clipped_fraction, t.static_error, t.dynamic_error};
    if (qc.int8.fallback && t.int8_input != calibrate::InputMode::static_range) {
      // The tied output projection shares the INT8 embedding: it cannot stay FP32 alone.
      const bool fp32 = t.int8_input == calibrate::InputMode::fp32 && !(name == "lm_head" && tied_int8_output);
      r.used = fp32 ? "fp32" : "dynamic";
      if (fp32) qc.int8.fp32_inputs.insert(name);
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace

QuantizeResult run_quantize(const QuantizeJob& job) {
  // Validate every input before any work, and never write over an input.
  quantize::QuantizeConfig qc = quantize::parse_quantize_config(job.config_text, job.config_name);
  // The outputs (the .qtm, the report) never name an input, nor each other.
  std::vector<std::string> inputs = model_input_files(job.model);
  for (const std::string* f : {&job.config_name, &job.calibration, &job.token_counts, &job.hessians, &job.calibration_data})
    if (!f->empty()) inputs.push_back(*f);
  check_distinct(inputs, job.output);
  if (!job.report.empty()) {
    inputs.push_back(job.output);
    check_distinct(inputs, job.report);
  }
  const bool static_act = qc.activations == "static";
  if (static_act && job.calibration.empty())
    throw Error(job.config_name + ": int8.activations: \"static\" needs --calibration FILE (from qtool calibrate)");
  if (qc.inputs.present && job.calibration_data.empty()) {
    if (!job.hessians.empty())
      throw Error(job.hessians + ": " + job.config_name + " records its inputs (inputs.calibration_data); drop --hessians");
    if (!job.token_counts.empty())
      throw Error(job.token_counts + ": " + job.config_name + " records its inputs (inputs.token_counts); drop --token-counts");
    check_plan_inputs(qc.inputs, job.model, job.config_name);
  }
  if (!job.calibration_data.empty()) {
    if (qc.inputs.present)
      throw Error(job.calibration_data + ": " + job.config_name + " records its inputs (inputs.calibration_data); drop --calibration-data");
    if (!job.hessians.empty())
      throw Error(job.calibration_data + ": give --calibration-data or --hessians, not both");
    qc.inputs.present = true;  // as if recorded, but nothing to check against
    qc.inputs.calibration_data = job.calibration_data;
    qc.inputs.calibration_sentences = job.calibration_sentences;
    qc.inputs.token_counts = job.token_counts;
  }
  if (qc.gptq && job.hessians.empty() && !qc.inputs.present)
    throw Error(job.config_name + ": binary_code.gptq needs --calibration-data FILE (source lines) or --hessians FILE "
                                  "(from qtool calibrate --hessian-output)");
  if (!qc.gptq && !job.hessians.empty())
    throw Error(job.hessians + ": a hessian file is only used with binary_code.gptq (" + job.config_name + " has none)");
  if (qc.gptq && qc.gptq_options.sequential && !qc.inputs.present)
    throw Error(job.config_name + ": binary_code.gptq.sequential takes each layer's hessians with the layers before it "
                                  "quantized: give --calibration-data FILE, not --hessians");
  if (qc.reconstruction && !qc.inputs.present)
    throw Error(job.config_name + ": binary_code.reconstruction fits each sub-layer to the FP32 model's output on "
                                  "source lines: give --calibration-data FILE");
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(job.model);
  check_distinct(ck.weights_file, job.output);
  std::optional<calibrate::Calibration> calib;
  quantize::QuantizeCache cache;  // sequential GPTQ's codes, made while its statistics were taken
  if (!job.calibration.empty()) calib = read_calibration_for(job.calibration, ck);
  if (qc.gptq && !job.hessians.empty()) read_hessians_for(job.hessians, ck, qc);
  quantize::EmbeddingCounts counts;
  std::shared_ptr<const Vocabulary> vocab;
  std::vector<std::string> lines;  // the calibration lines, when the plan has inputs
  if (qc.inputs.present) {
    const ModelConfig& mc = ck.weights.config;
    vocab = std::make_shared<const Vocabulary>(ck.vocab_files, mc.vocab_size, mc.decoder_vocab_size);
    lines = first_lines(qc.inputs.calibration_data, qc.inputs.calibration_sentences);
    if (int64_t(lines.size()) < qc.inputs.calibration_sentences && job.calibration_data.empty())
      throw Error(job.config_name + ": inputs.calibration_data: " + qc.inputs.calibration_data + " has " +
                  std::to_string(lines.size()) + " lines, the plan used " +
                  std::to_string(qc.inputs.calibration_sentences));
    PlanData d = compute_plan_data(ck, vocab, lines, qc.inputs.calibration_data, qc.inputs.token_counts, job.progress);
    if (qc.gptq) qc.hessians = std::move(d.hessians), qc.hessian_file = qc.inputs.calibration_data;
    if (qc.bias_correction) qc.input_means = std::move(d.means);
    counts = std::move(d.counts);
    if (qc.gptq && qc.gptq_options.sequential)
      sequential_gptq(ck.weights, vocab, lines, qc, cache, job.config_name, job.progress);
  } else {
    const ModelConfig& mc = ck.weights.config;
    const Vocabulary vocab(ck.vocab_files, mc.vocab_size, mc.decoder_vocab_size);
    counts = counts_for(job.token_counts, ck, vocab);
  }
  // Activation-aware binary code: the calibration's per-column mean squares weigh the columns.
  if (calib && qc.has_plan)
    for (const auto& [name, st] : calib->tensors)
      if (!st.column_mean_square.empty()) qc.column_weights[name] = st.column_mean_square;
  QuantizeResult r;
  if (static_act) r.inputs = plan_inputs(*calib, qc, ck.weights);
  r.weights_file = ck.weights_file;
  r.fp32_bytes = ck.weights_bytes;
  Progress progress("quantizing", static_cast<int64_t>(linear_layers(ck.weights).size()) + 2, job.progress);
  int last = 0;
  std::optional<MarianWeights> fp32;  // the reference of block reconstruction (tensors shared, not copied)
  if (qc.reconstruction) fp32 = ck.weights;
  r.tensors = quantize::quantize_model(ck.weights, qc, counts, job.config_name, [&](int done, int) {
    progress.advance(done - last);
    last = done;
  }, &cache);
  progress.finish();
  if (qc.reconstruction) {
    r.blocks = reconstruct_blocks(*fp32, ck.weights, vocab, lines, qc.reconstruction_options, qc.vectors_f16,
                                  job.progress);
    fp32.reset();
  }
  if (calib && qc.has_plan) {
    r.activation_aware = 0;
    for (const auto& t : r.tensors) r.activation_aware += t.activation_aware;
  }
  if (static_act) {
    std::map<std::string, CalibratedInput> inputs = calib->inputs();
    for (const InputReport& i : r.inputs)
      if (i.used != "static") inputs.erase(i.name);
    r.static_inputs = quantize::set_calibrated_inputs(ck.weights, inputs);
  }
  if (!job.report.empty()) write_file_atomic(job.report, tensor_report_json(r.tensors, r.inputs));
  exporter::QtmWriteOptions wo;
  wo.tokenizer_beside = job.tokenizer.empty() ? qc.tokenizer_beside : job.tokenizer == "beside";
  wo.vectors_f16 = qc.vectors_f16;
  for (const InputReport& i : r.inputs)
    if (i.used != "static")
      wo.int8_fallbacks[i.name] = {i.used, i.static_error, i.dynamic_error};
  r.written = exporter::write_qtm(job.output, ck.weights, ck.vocab_files, qc.text, wo);
  return r;
}

std::string search_table_json(const search::SearchResult& r) {
  nlohmann::json steps = nlohmann::json::array(), sens = nlohmann::json::array();
  const bool by_nll = r.criterion == search::SearchOptions::Criterion::nll;
  for (const auto& s : r.steps) {
    steps.push_back({{"change", s.change}, {"average_bits", s.average_bits}, {"weight_bytes", s.weight_bytes},
                     {"dev_bleu", s.bleu}});
    if (by_nll) steps.back()["dev_nll"] = s.nll;
  }
  for (const auto& s : r.sensitivity)
    sens.push_back({{"knob", s.knob}, {"level", s.level}, {by_nll ? "dev_nll" : "dev_bleu", s.cost}});
  nlohmann::json j = {{"criterion", by_nll ? "nll" : "bleu"}, {"fp32_dev_bleu", r.fp32_bleu}};
  if (by_nll) j["fp32_dev_nll"] = r.fp32_nll;
  j["sensitivity"] = sens;
  j["steps"] = steps;
  return j.dump(1) + "\n";
}

search::SearchResult run_search(const SearchJob& job, const std::function<void(const std::string&)>& log) {
  const search::SearchOptions& o = job.options;
  if (o.target_bits <= 0 && o.max_bleu_drop < 0) throw Error("search: give a target in bits or a largest BLEU drop");
  std::vector<std::string> inputs = model_input_files(job.model);
  for (const std::string* f : {&job.dev_src, &job.dev_ref, &job.calibration, &job.token_counts, &job.calibration_data})
    if (!f->empty()) inputs.push_back(*f);
  check_distinct(inputs, job.output);
  if (!job.table.empty()) {
    inputs.push_back(job.output);
    check_distinct(inputs, job.table);
  }
  const std::vector<std::string> src = non_empty_lines(job.dev_src), ref = read_lines(job.dev_ref);
  if (src.size() != ref.size())
    throw Error(job.dev_ref + ": " + std::to_string(ref.size()) + " lines, but " + job.dev_src + " has " +
                std::to_string(src.size()));
  checkpoint::Checkpoint ck = checkpoint::load_checkpoint(job.model);
  search::SearchOptions opt = o;
  if (!job.calibration.empty()) {
    const calibrate::Calibration calib = read_calibration_for(job.calibration, ck);
    for (const auto& [name, st] : calib.tensors)
      if (!st.column_mean_square.empty()) opt.column_weights[name] = st.column_mean_square;
    if (log) log("activation-aware binary code: column weights of " + std::to_string(opt.column_weights.size()) +
                 " inputs");
  }
  const ModelConfig& c = ck.weights.config;
  auto vocab = std::make_shared<const Vocabulary>(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
  // The statistics the plan's model is quantized with, recorded so quantize can recompute them.
  const std::string data_file = job.calibration_data.empty() ? job.dev_src : job.calibration_data;
  const std::vector<std::string> lines = first_lines(data_file, std::max(1, job.calibration_sentences));
  PlanData data = compute_plan_data(ck, vocab, lines, data_file, job.token_counts, o.progress);
  if (job.gptq) opt.hessians = std::move(data.hessians);
  if (job.bias_correction) opt.input_means = std::move(data.means);
  nlohmann::json recorded = {
      {"model", {{"content_hash", hash_path(job.model)}}},
      {"calibration_data",
       {{"file", std::filesystem::absolute(data_file).lexically_normal().string()},
        {"content_hash", hash_path(data_file)},
        {"sentences", lines.size()}}}};
  if (!job.token_counts.empty())
    recorded["token_counts"] = {{"file", std::filesystem::absolute(job.token_counts).lexically_normal().string()},
                              {"content_hash", hash_path(job.token_counts)}};
  const search::SearchResult r = search::search_precision(ck.weights, vocab, data.counts, src, ref, opt, log);
  char desc[160];
  std::snprintf(desc, sizeof desc, "qtool search: %.2f average bits (stored), dev BLEU %.2f (FP32 %.2f)",
                r.steps.back().average_bits, r.steps.back().bleu, r.fp32_bleu);
  write_file_atomic(job.output, search::plan_config_json(r.chosen, opt, desc, recorded.dump()));
  if (!job.table.empty()) write_file_atomic(job.table, search_table_json(r));
  return r;
}

nlohmann::json run_evaluate(const EvaluateJob& job) {
  std::vector<std::string> src = non_empty_lines(job.src), ref = read_lines(job.ref);
  if (src.size() != ref.size())
    throw Error(job.ref + ": " + std::to_string(ref.size()) + " lines, but " + job.src + " has " +
                std::to_string(src.size()));
  if (job.sentences > 0 && static_cast<size_t>(job.sentences) < src.size()) {
    src.resize(job.sentences);
    ref.resize(job.sentences);
  }
  const runtime::Translator tr = load_model(job.model).translator();
  nlohmann::json result = {{"model", job.model}, {"sentences", src.size()}};
  auto score = [&](int beam, const std::string& output) {
    runtime::TranslateOptions t;
    t.search.beam_size = beam;
    t.batch_size = job.batch;
    t.progress = job.progress;
    const std::vector<std::string> hyps = tr.translate(src, t);
    AtomicOutput f(output);
    for (const std::string& l : hyps) f.stream() << l << '\n';
    f.commit();
    const eval::BleuScore s = eval::corpus_bleu(hyps, ref);
    return nlohmann::json{{"bleu", s.score}, {"line", s.line()}, {"beam_size", beam}};
  };
  result["greedy"] = score(1, job.greedy_output);
  result["beam"] = job.beam > 1 ? score(job.beam, job.beam_output) : nlohmann::json(nullptr);
  write_file_atomic(job.output, result.dump(1) + "\n");
  return result;
}

nlohmann::json run_bench(const BenchJob& job) {
  auto bench = [&](int batch) {
    std::vector<std::string> args = {"bench", "--model", job.model, "--input", job.input, "--sentences",
                                     std::to_string(job.sentences), "--batch", std::to_string(batch), "--threads",
                                     std::to_string(job.threads), "--json"};
    const bool show = job.progress && stderr_is_terminal();
    if (!show) args.push_back("--quiet");
    const std::string out = run_self(args, show);
    try {
      return nlohmann::json::parse(out);
    } catch (const nlohmann::json::exception&) {
      throw Error("qtool bench --model " + job.model + ": printed no JSON");
    }
  };
  const nlohmann::json b = bench(job.batch);
  nlohmann::json r = {{"model", job.model},
                      {"sentences", b["sentences"]},
                      {"batch", job.batch},
                      {"threads", b["threads"]},
                      {"kernels", b["kernels"]},
                      {"tokens_per_second", b["target_tokens_per_second"]},
                      {"peak_rss_mib", b["peak_rss_bytes"].get<double>() / 1048576.0},
                      {"batch1_ms_per_sentence", nullptr}};
  if (job.batch1) {
    const nlohmann::json one = bench(1);
    r["batch1_ms_per_sentence"] = one["ms_per_sentence"];
    r["peak_rss_mib"] = one["peak_rss_bytes"].get<double>() / 1048576.0;
  }
  return r;
}

void run_export(const ExportJob& job) {
  std::filesystem::create_directories(job.dir);
  nlohmann::json manifest = {{"format", "qtool-export"}, {"version", 1}, {"models", nlohmann::json::array()}};
  for (const auto& [name, qtm] : job.models) {
    const std::string dst = job.dir + "/" + name + ".qtm";
    check_distinct(qtm, dst);
    const std::vector<uint8_t> bytes = read_binary_file(qtm);
    AtomicOutput f(dst);
    f.stream().write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.commit();
    const QtmModel m = parse_qtm(bytes, qtm);  // a tokenizer kept beside the .qtm goes with it
    if (m.tokenizer_beside) exporter::write_tokenizer_beside(dst, m.vocab);
    manifest["models"].push_back({{"name", name}, {"file", name + ".qtm"}, {"bytes", bytes.size()},
                                  {"hash", hash_file(dst)}});
  }
  write_file_atomic(job.dir + "/manifest.json", manifest.dump(1) + "\n");
}

}  // namespace qtool::pipeline
