// The qtool command as a user runs it: exact sacreBLEU lines, identical
// translations from safetensors and HDF5, and bad input refused on one line
// with a non-zero exit and no output lost.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/run_qtool.h"
#include "tests/test_paths.h"
#include "util/file.h"

using namespace qtool;
namespace fs = std::filesystem;

namespace {

using Run = test::QtoolRun;

fs::path scratch() {
  static const fs::path d = test::scratch_dir("qtool_cli_test_");
  return d;
}

Run run_qtool(const std::string& args) { return test::run_qtool_in(scratch(), args); }

std::string tiny() { return test::bundled_model(); }
std::string data(const std::string& f) { return test::source_dir() + "/data/ddtp-en-de/" + f; }

// A copy of the bundled model that a test may damage.
fs::path model_copy(const std::string& name) {
  fs::path d = scratch() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  for (const char* f : {"config.json", "generation_config.json", "tokenizer_config.json",
                        "vocab.json", "source.spm", "target.spm", "model.safetensors"})
    fs::copy_file(tiny() + "/" + f, d / f);
  return d;
}

void write(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

// One line on stderr, naming `what`; non-zero exit.
void check_refused(const Run& r, const std::string& what) {
  CAPTURE(r.err);
  CHECK(r.code != 0);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("eval-bleu prints sacreBLEU's own line") {
  std::vector<std::pair<std::string, std::string>> cases = {{tiny(), data("test.de")}};
  if (test::have_shared())
    for (const char* m : {"ddtp-en-de-small", "ddtp-en-de-opus-tiny"})
      cases.push_back({test::shared_dir() + "/models/" + m,
                       test::shared_dir() + "/data/ddtp-en-de/test.de"});
  for (const auto& [model, ref] : cases) {
    auto scores = nlohmann::json::parse(read_text_file(model + "/reference/scores.json"));
    for (const char* kind : {"greedy", "beam4"}) {
      Run r = run_qtool("eval-bleu --hyp " + model + "/reference/test." + kind + ".de --ref " + ref);
      CHECK(r.code == 0);
      CHECK(r.out == scores["test_bleu_" + std::string(kind) + "_fp32_signature"].get<std::string>() + "\n");
    }
  }
}

TEST_CASE("eval-bleu --model translates then scores, like translate + eval-bleu --hyp") {
  const fs::path src = scratch() / "src.en", ref = scratch() / "ref.de", hyp = scratch() / "hyp.de";
  std::vector<std::string> s = read_lines(data("test.en")), r = read_lines(data("test.de"));
  std::string st, rt;
  for (int i = 0; i < 60; ++i) st += s[i] + "\n", rt += r[i] + "\n";
  write(src, st);
  write(ref, rt);
  Run direct = run_qtool("eval-bleu --quiet --json --model " + tiny() + " --src " + src.string() + " --ref " +
                         ref.string() + " --save-hyp " + hyp.string());
  REQUIRE_MESSAGE(direct.code == 0, direct.err);  // (LeakSanitizer's tracer crashes: tests/run_qtool.h)
  Run two_step = run_qtool("eval-bleu --json --hyp " + hyp.string() + " --ref " + ref.string());
  REQUIRE(two_step.code == 0);
  auto a = nlohmann::json::parse(direct.out), b = nlohmann::json::parse(two_step.out);
  CHECK(a["line"] == b["line"]);
  CHECK(a["bleu"].get<double>() > 5.0);
  CHECK(a["sentences"] == 60);
}

TEST_CASE("calibrate → quantize (static INT8) → translate; a calibration of another model is refused") {
  const std::string calib = (scratch() / "calib.json").string(), qtm = (scratch() / "tiny.kl.qtm").string();
  Run c = run_qtool("calibrate --quiet --model " + tiny() + " --data " + data("dev.en") + " --sentences 40 --output " + calib);
  REQUIRE(c.code == 0);
  {
    // Every product's input is there, the attention products' too; softmax rows are one-sided.
    const nlohmann::json j = nlohmann::json::parse(read_text_file(calib));
    const auto& t = j.at("tensors");
    for (const char* name : {"model.encoder.layers.0.fc1", "lm_head", "model.encoder.layers.0.self_attn.matmul_qk.q",
                             "model.encoder.layers.0.self_attn.matmul_qk.k", "model.decoder.layers.0.self_attn.matmul_pv.v",
                             "model.decoder.layers.0.encoder_attn.matmul_qk.k"}) {
      CAPTURE(name);
      REQUIRE(t.contains(name));
      CHECK(t[name]["one_sided"] == false);
    }
    for (const char* name : {"model.encoder.layers.0.self_attn.matmul_pv.p", "model.decoder.layers.0.self_attn.matmul_pv.p",
                             "model.decoder.layers.0.encoder_attn.matmul_pv.p"}) {
      CAPTURE(name);
      REQUIRE(t.contains(name));
      CHECK(t[name]["one_sided"] == true);
      CHECK(t[name]["max_abs"].get<double>() <= 1.0);
      CHECK(t[name]["threshold"].get<double>() <= 1.0 + 1e-6);
    }
  }
  Run q = run_qtool("quantize --model " + tiny() + " --config " + test::source_dir() + "/configs/int8-kl.json --calibration " +
                    calib + " --output " + qtm);
  REQUIRE(q.code == 0);
  CHECK(q.err.find("static activation scales for") != std::string::npos);
  Run i = run_qtool("inspect --summary " + qtm);
  CHECK(i.out.find("int8, shared") != std::string::npos);
  Run t = run_qtool("translate --quiet --model " + qtm + " --input " + data("dev.en") + " --output " + (scratch() / "dev.kl.de").string());
  CHECK(t.code == 0);
  CHECK(read_lines((scratch() / "dev.kl.de").string()).size() == read_lines(data("dev.en")).size());
  // The same file against a different model (one weight byte changed).
  fs::path other = model_copy("other");
  {
    std::fstream f(other / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-5, std::ios::end);
    f.put('\x42');
  }
  check_refused(run_qtool("quantize --model " + other.string() + " --config " + test::source_dir() +
                          "/configs/int8-kl.json --calibration " + calib + " --output " + (scratch() / "x.qtm").string()),
                "is for another model");
  CHECK_FALSE(fs::exists(scratch() / "x.qtm"));
  // Static without a calibration file, and a config with an unknown key.
  check_refused(run_qtool("quantize --model " + tiny() + " --config " + test::source_dir() + "/configs/int8-kl.json --output " + qtm),
                "needs --calibration");
  write(scratch() / "bad.json", R"({"version": 1, "int8": {"weight": "per_channel"}})");
  check_refused(run_qtool("quantize --model " + tiny() + " --config " + (scratch() / "bad.json").string() + " --output " + qtm),
                "bad.json: int8.weight: unknown key");
}

TEST_CASE("safetensors and HDF5 give identical translations") {
  const fs::path in = scratch() / "in.en";
  std::vector<std::string> lines = read_lines(data("test.en"));
  lines.resize(150);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  write(in, text);
  Run a = run_qtool("translate --quiet --model " + tiny() + " --input " + in.string() + " --output " +
                (scratch() / "a.de").string());
  Run b = run_qtool("translate --quiet --model " + tiny() + "/model.h5 --input " + in.string() +
                " --output " + (scratch() / "b.de").string());
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK(read_text_file((scratch() / "a.de").string()) == read_text_file((scratch() / "b.de").string()));
  CHECK(read_lines((scratch() / "a.de").string()).size() == 150);
}

TEST_CASE("a packed INT8 model opens neither oneDNN nor HDF5; a checkpoint opens what it needs") {
  const std::string qtm = (scratch() / "libs.int8.qtm").string(), in = (scratch() / "libs.en").string();
  write(in, "The cat sat on the mat.\n");
  REQUIRE(run_qtool("quantize --quiet --model " + tiny() + " --config " + test::source_dir() +
                    "/configs/int8-dynamic.json --output " + qtm).code == 0);
  // The dynamic linker lists on stderr every library it loads, dlopen's too
  // (glibc's LD_DEBUG). bench also prints the kernel line, which names oneDNN.
  auto loaded = [&](const std::string& model) {
    ::setenv("LD_DEBUG", "files", 1);
    Run r = run_qtool("bench --quiet --model " + model + " --input " + in);
    ::unsetenv("LD_DEBUG");
    REQUIRE(r.code == 0);
    return std::pair{r.err.find("file=libdnnl") != std::string::npos, r.err.find("file=libhdf5") != std::string::npos};
  };
  CHECK(loaded(qtm) == std::pair{false, false});
  CHECK(loaded(tiny()) == std::pair{true, false});            // FP32 products, from safetensors
  CHECK(loaded(tiny() + "/model.h5") == std::pair{true, true});
}

TEST_CASE("bad checkpoints are refused on one line, and the old output survives") {
  const fs::path in = scratch() / "two.en", out = scratch() / "keep.de";
  write(in, "Hello world.\nThis package provides documentation.\n");
  write(out, "precious\n");
  const std::string io = " --input " + in.string() + " --output " + out.string();

  fs::path m = model_copy("truncated");
  fs::resize_file(m / "model.safetensors", fs::file_size(m / "model.safetensors") / 2);
  check_refused(run_qtool("translate --model " + m.string() + io), "model.safetensors");

  m = model_copy("header_past_end");
  {
    std::fstream f(m / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    const char huge[8] = {0, 0, 0, 0, 0, 0, 0, 0x10};
    f.write(huge, 8);
  }
  check_refused(run_qtool("translate --model " + m.string() + io), "model.safetensors");

  m = model_copy("no_d_model");
  auto cfg = nlohmann::json::parse(read_text_file((m / "config.json").string()));
  cfg.erase("d_model");
  write(m / "config.json", cfg.dump());
  check_refused(run_qtool("translate --model " + m.string() + io), "config.json: missing field 'd_model'");

  m = model_copy("bad_vocab");
  write(m / "vocab.json", "{\"</s>\": 0}");
  check_refused(run_qtool("translate --model " + m.string() + io), "vocab.json");

  check_refused(run_qtool("translate --model " + (scratch() / "nope").string() + io), "no such file");
  CHECK(read_text_file(out.string()) == "precious\n");
  for (const auto& e : fs::directory_iterator(scratch()))
    CHECK_FALSE(is_temp_output_name(e.path().filename().string()));
}

TEST_CASE("awkward input: empty file refused; invalid UTF-8 and a 5,000-word line translated") {
  const fs::path empty = scratch() / "empty.en", odd = scratch() / "odd.en", out = scratch() / "odd.de";
  write(empty, "");
  check_refused(run_qtool("translate --model " + tiny() + " --input " + empty.string() + " --output " +
                      out.string()),
                "input file is empty");
  CHECK_FALSE(fs::exists(out));
  std::string longline;
  for (int i = 0; i < 5000; ++i) longline += "package ";
  write(odd, "bad \xff\xfe bytes\n" + longline + "\n\nlast line\n");
  Run r = run_qtool("translate --quiet --model " + tiny() + " --input " + odd.string() + " --output " +
                out.string());
  CHECK(r.code == 0);
  CHECK(read_lines(out.string()).size() == 4);
  check_refused(run_qtool("translate --model " + tiny() + " --input " + odd.string() + " --output " +
                      odd.string()),
                "same file as input");
}

TEST_CASE("low bit: a hand-written GPTQ config takes its statistics from --calibration-data") {
  const std::string qtm = (scratch() / "tiny.3bit.qtm").string();
  const std::string config = test::source_dir() + "/configs/lowbit-3bit-gptq.json";
  check_refused(run_qtool("quantize --quiet --model " + tiny() + " --config " + config + " --output " + qtm),
                "binary_code.gptq needs --calibration-data");
  Run q = run_qtool("quantize --quiet --model " + tiny() + " --config " + config + " --calibration-data " +
                    data("dev.en") + " --calibration-sentences 20 --output " + qtm);
  REQUIRE(q.code == 0);
  CHECK(q.err.find("gptq binary code") != std::string::npos);
  Run i = run_qtool("inspect --summary " + qtm);
  CHECK(i.out.find("code bits     embedding 3.00  encoder 3.00  decoder 3.00") != std::string::npos);
}

TEST_CASE("low bit: a clustered embedding without --token-counts takes the tokenizer's frequencies") {
  const std::string qtm = (scratch() / "tiny.clustered.qtm").string();
  Run q = run_qtool("quantize --quiet --model " + tiny() + " --config " + test::source_dir() +
                    "/configs/lowbit-3bit.json --output " + qtm);
  REQUIRE_MESSAGE(q.code == 0, q.err);
  // Four equal frequency clusters at 4/3/2/1 planes.
  CHECK(run_qtool("inspect --summary " + qtm).out.find("code bits     embedding 2.50") != std::string::npos);
}

TEST_CASE("low bit: sequential GPTQ takes a pass per layer from --calibration-data, and refuses a hessian file") {
  const std::string qtm = (scratch() / "tiny.seq.qtm").string(), config = (scratch() / "seq.json").string();
  write(config, R"({"version": 1, "binary_code": {"gptq": {"act_order": true, "sequential": true}},
    "precision": {"enc_self_attn": 3, "enc_ffn": 3, "dec_self_attn": 3, "dec_cross_attn": 3, "dec_ffn": 3,
                  "embedding": "int8", "output_projection": 3}})");
  check_refused(run_qtool("quantize --quiet --model " + tiny() + " --config " + config + " --hessians " + config +
                          " --output " + qtm),
                "binary_code.gptq.sequential takes each layer's hessians with the layers before it quantized");
  Run q = run_qtool("quantize --quiet --model " + tiny() + " --config " + config + " --calibration-data " +
                    data("dev.en") + " --calibration-sentences 20 --output " + qtm);
  REQUIRE(q.code == 0);
  CHECK(run_qtool("inspect --summary " + qtm).out.find("encoder 3.00  decoder 3.00") != std::string::npos);
  Run t = run_qtool("translate --quiet --model " + qtm + " --input " + data("dev.en") + " --output " +
                    (scratch() / "seq.de").string());
  CHECK(t.code == 0);
}

TEST_CASE("low bit: search on dev → quantize by the plan alone → inspect → translate") {
  const std::string counts = test::source_dir() + "/data/ddtp-en-de/token-counts.json";
  const std::string plan = (scratch() / "plan.json").string(), qtm = (scratch() / "tiny.lowbit.qtm").string();
  const fs::path calib = scratch() / "calib.en";
  fs::copy_file(data("dev.en"), calib, fs::copy_options::overwrite_existing);
  Run s = run_qtool("search --quiet --model " + tiny() + " --dev-src " + data("dev.en") + " --dev-ref " + data("dev.de") +
                    " --target-bits 3.0 --sentences 40 --token-counts " + counts + " --calibration-data " +
                    calib.string() + " --calibration-sentences 30 --table " + (scratch() / "table.json").string() +
                    " --output " + plan);
  REQUIRE(s.code == 0);
  CHECK(s.out.find("| step | change | average bits") != std::string::npos);
  // By default the steps are ranked by the NLL of the FP32 model's own dev
  // translations: recorded per step and per sensitivity level; every knob at
  // 1 bit costs more than at 4, and the start (4 bits) more than FP32.
  const nlohmann::json table = nlohmann::json::parse(read_text_file((scratch() / "table.json").string()));
  CHECK(table.at("criterion") == "nll");
  const double fp32_nll = table.at("fp32_dev_nll");
  CHECK(fp32_nll > 0.0);
  CHECK(table.at("steps").at(0).at("dev_nll").get<double>() > fp32_nll);
  std::map<std::string, std::map<int, double>> sens;
  for (const auto& e : table.at("sensitivity")) sens[e.at("knob")][e.at("level")] = e.at("dev_nll");
  CHECK(sens.size() >= 6);
  for (const auto& [knob, levels] : sens) {
    CAPTURE(knob);
    CHECK(levels.at(1) > levels.at(4));
  }
  const nlohmann::json p = nlohmann::json::parse(read_text_file(plan));
  // The plan names its method and what quantize recomputes from.
  CHECK(p.at("binary_code").contains("gptq"));
  CHECK(p.at("vectors") == "fp16");
  CHECK(p.at("inputs").at("calibration_data").at("sentences") == 30);
  CHECK(p.at("inputs").at("token_counts").at("file").get<std::string>().find("token-counts.json") != std::string::npos);
  // The plan alone is enough; extra statistics are refused rather than silently mixed in.
  check_refused(run_qtool("quantize --quiet --model " + tiny() + " --config " + plan + " --token-counts " + counts +
                          " --output " + qtm),
                "records its inputs");
  Run q = run_qtool("quantize --quiet --model " + tiny() + " --config " + plan + " --output " + qtm);
  REQUIRE(q.code == 0);
  Run i = run_qtool("inspect --summary " + qtm);
  REQUIRE(i.code == 0);
  // The searched plan meets its target: the average over all weights is at most 3 bits.
  const size_t at = i.out.find("all weights ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(i.out.substr(at + 12)) <= 3.0 + 1e-6);
  CHECK(i.out.find("binary code, shared") != std::string::npos);
  Run t = run_qtool("translate --quiet --model " + qtm + " --input " + data("dev.en") + " --output " +
                    (scratch() / "dev.lowbit.de").string());
  CHECK(t.code == 0);
  CHECK(read_lines((scratch() / "dev.lowbit.de").string()).size() == read_lines(data("dev.en")).size());
  // At batch 1 two threads decode each step as one team (runtime/parallel.h): the
  // same translations as one thread, greedy and beam.
  for (const char* beam : {"1", "3"}) {
    CAPTURE(beam);
    std::vector<std::string> out;
    for (const char* threads : {"1", "2"}) {
      const std::string file = (scratch() / (std::string("dev.t") + threads + ".de")).string();
      REQUIRE(run_qtool("translate --quiet --batch 1 --beam " + std::string(beam) + " --threads " +
                        threads + " --model " + qtm + " --input " + data("dev.en") + " --output " + file)
                  .code == 0);
      out.push_back(read_text_file(file));
    }
    CHECK(!out[0].empty());
    CHECK(out[0] == out[1]);
  }
  const Run bad = run_qtool("search --quiet --model " + tiny() + " --dev-src " + data("dev.en") + " --dev-ref " +
                            data("dev.de") + " --target-bits 3.0 --criterion perplexity --output " +
                            (scratch() / "p2.json").string());
  CHECK(bad.code != 0);
  CHECK(bad.err.find("--criterion: perplexity not in {nll,bleu}") != std::string::npos);
  // Counts of another vocabulary are refused before any work.
  check_refused(run_qtool("search --quiet --model " + tiny() + " --dev-src " + data("dev.en") + " --dev-ref " +
                          data("dev.de") + " --target-bits 3.0 --sentences 40 --token-counts " + test::source_dir() +
                          "/data/ddtp-en-de/token-counts.opus-tiny.json --output " + (scratch() / "p2.json").string()),
                "vocab_checksum");
  // A recorded input that changed since the search is refused, naming it; nothing is written.
  write(calib, read_text_file(calib.string()) + "one more line\n");
  const std::string qtm2 = (scratch() / "tiny.lowbit2.qtm").string();
  check_refused(run_qtool("quantize --quiet --model " + tiny() + " --config " + plan + " --output " + qtm2),
                "inputs.calibration_data");
  CHECK(!fs::exists(qtm2));
}

namespace {

// Starts qtool with `args` (no shell), its output and errors thrown away.
pid_t spawn_qtool(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string bin = test::qtool_binary();
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1), ::dup2(null, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("data safety: quantize killed while writing over a good .qtm leaves it byte-identical") {
  const fs::path dir = scratch() / "kill";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path out = dir / "m.qtm";
  const std::string dynamic = test::source_dir() + "/configs/int8-dynamic.json";
  REQUIRE(run_qtool("quantize --quiet --model " + tiny() + " --config " + dynamic + " --output " + out.string()).code == 0);
  const std::string good = read_text_file(out.string());
  // Another config, so a run that finished would have changed the bytes.
  const fs::path other = scratch() / "per-tensor.json";
  write(other, R"({"version": 1, "int8": {"weights": "per_tensor", "activations": "dynamic"}})");

  // inotify reports the temporary file's creation; the kill follows at once,
  // while the file is being written (a .qtm of 1.5 MB, then fsync).
  int killed_while_writing = 0;
  for (int attempt = 0; attempt < 5 && killed_while_writing == 0; ++attempt) {
    const int in = ::inotify_init1(IN_CLOEXEC);
    REQUIRE(in >= 0);
    REQUIRE(::inotify_add_watch(in, dir.c_str(), IN_CREATE) >= 0);
    const pid_t pid = spawn_qtool({"quantize", "--quiet", "--model", tiny(), "--config", other.string(), "--output", out.string()});
    REQUIRE(pid > 0);
    alignas(inotify_event) char buf[4096];
    const ssize_t n = ::read(in, buf, sizeof buf);  // blocks until something is created in dir
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(in);
    REQUIRE(n > 0);
    const std::string created = reinterpret_cast<const inotify_event*>(buf)->name;
    CAPTURE(created);
    CHECK(is_temp_output_name(created));
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++killed_while_writing;
    // Whether the kill came in time or not, the output is whole: the old bytes,
    // or (a run that beat the kill) the new file, never a mixture.
    const std::string now = read_text_file(out.string());
    if (WIFSIGNALED(status)) CHECK(now == good);
  }
  CHECK(killed_while_writing == 1);
  // What a kill leaves: the output as it was, and at most an orphaned temporary
  // file, hidden (a leading dot) and named as qtool's, never as the output.
  for (const std::string& name : names_in(dir)) {
    CAPTURE(name);
    CHECK((name == "m.qtm" || (is_temp_output_name(name) && name.rfind(".m.qtm.qtool-tmp-", 0) == 0)));
  }
  // The orphan does not get in the way of the next run.
  CHECK(run_qtool("quantize --quiet --model " + tiny() + " --config " + other.string() + " --output " + out.string()).code == 0);
  CHECK(read_text_file(out.string()) != good);
  CHECK(run_qtool("inspect --summary " + out.string()).code == 0);
}

TEST_CASE("data safety: a failing quantize (bad config, bad model) leaves the existing output and no temporary file") {
  const fs::path dir = scratch() / "fail";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path out = dir / "m.qtm", report = dir / "report.json";
  const std::string dynamic = test::source_dir() + "/configs/int8-dynamic.json";
  REQUIRE(run_qtool("quantize --quiet --model " + tiny() + " --config " + dynamic + " --output " + out.string()).code == 0);
  const std::string good = read_text_file(out.string());
  const std::vector<std::string> before = names_in(dir);

  const fs::path bad = scratch() / "bad.json";
  write(bad, R"({"version": 1, "int8": {"weights": "per_row", "activations": "dynamic"}})");
  check_refused(run_qtool("quantize --model " + tiny() + " --config " + bad.string() + " --output " + out.string()),
                bad.string() + ": int8.weights");
  fs::path m = model_copy("kill_truncated");
  fs::resize_file(m / "model.safetensors", fs::file_size(m / "model.safetensors") - 7);
  check_refused(run_qtool("quantize --model " + m.string() + " --config " + dynamic + " --output " + out.string()),
                "model.safetensors");
  // An output that names an input (the config, a tokenizer file) is refused before any work.
  const std::string spm = (m / "source.spm").string(), spm_bytes = read_text_file(spm);
  check_refused(run_qtool("quantize --model " + m.string() + " --config " + dynamic + " --output " + spm),
                "same file as input");
  CHECK(read_text_file(spm) == spm_bytes);
  check_refused(run_qtool("quantize --model " + tiny() + " --config " + dynamic + " --output " + out.string() +
                          " --report " + dynamic),
                "same file as input");
  CHECK(read_text_file(out.string()) == good);
  CHECK(names_in(dir) == before);
}

TEST_CASE("gptq: calibrate --hessian-output → quantize --hessians; bad hessian files refused on one line") {
  const std::string calib = (scratch() / "g.calib.json").string(), hess = (scratch() / "g.hessians.bin").string();
  const std::string qtm = (scratch() / "tiny.gptq.qtm").string(), report = (scratch() / "gptq.report.json").string();
  const std::string config = (scratch() / "gptq.json").string();
  write(config, R"({"version": 1, "binary_code": {"gptq": {"act_order": true}},
                    "precision": {"enc_self_attn": 2, "enc_ffn": 2, "dec_self_attn": 3, "dec_cross_attn": 3,
                                  "dec_ffn": 2, "embedding": "int8", "output_projection": "int8"}})");
  Run c = run_qtool("calibrate --quiet --model " + tiny() + " --data " + data("calib.en") + " --sentences 40 --output " +
                    calib + " --hessian-output " + hess);
  REQUIRE(c.code == 0);
  Run q = run_qtool("quantize --quiet --model " + tiny() + " --config " + config + " --hessians " + hess +
                    " --report " + report + " --output " + qtm);
  CAPTURE(q.err);
  REQUIRE(q.code == 0);
  CHECK(q.err.find("gptq binary code:") != std::string::npos);
  // Every binary-coded layer reports a GPTQ output error no worse than its start's.
  const nlohmann::json r = nlohmann::json::parse(read_text_file(report));
  int gptq = 0;
  for (const auto& t : r.at("tensors"))
    if (t.contains("output_error")) {
      ++gptq;
      CHECK(t.at("output_error").get<double>() <= t.at("start_output_error").get<double>());
    }
  CHECK(gptq > 0);
  Run t = run_qtool("translate --quiet --model " + qtm + " --input " + data("dev.en") + " --output " +
                    (scratch() / "dev.gptq.de").string());
  CHECK(t.code == 0);
  const std::string args = " --model " + tiny() + " --config " + config + " --output " + qtm;
  check_refused(run_qtool("quantize" + args), "binary_code.gptq needs --calibration-data FILE (source lines) or --hessians");
  const std::string bytes = read_text_file(hess);
  const fs::path bad = scratch() / "bad.hessians.bin";
  write(bad, bytes.substr(0, bytes.size() / 2));
  check_refused(run_qtool("quantize" + args + " --hessians " + bad.string()), "bad.hessians.bin: tensors.");
  write(bad, "not a hessian file");
  check_refused(run_qtool("quantize" + args + " --hessians " + bad.string()), "bad.hessians.bin: magic");
}
