// `qtool pipeline` as a user runs it, on the bundled tiny model: a first run does
// every stage; a second does none and says so; changing one variant redoes only
// that variant's stages; a deleted output is rebuilt; bad configs and stage
// names are refused before any work.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/run_qtool.h"
#include "tests/test_paths.h"
#include "util/file.h"

using namespace qtool;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using Run = test::QtoolRun;

fs::path scratch() {
  static const fs::path d = test::scratch_dir("qtool_pipeline_run_");
  return d;
}

Run run_qtool(const std::string& args) { return test::run_qtool_in(scratch(), args); }

json config(int dec_ffn_bits) {
  const std::string src = test::source_dir();
  return {{"version", 1},
          {"name", "e2e"},
          {"model", test::bundled_model()},
          {"output_dir", "out"},
          {"data",
           {{"calibration", src + "/data/ddtp-en-de/calib.en"},
            {"test_src", src + "/data/ddtp-en-de/test.en"},
            {"test_ref", src + "/data/ddtp-en-de/test.de"},
            {"token_counts", src + "/data/ddtp-en-de/token-counts.json"}}},
          {"calibrate", {{"sentences", 40}}},
          {"variants",
           {{{"name", "fp32"}, {"config", "fp32"}},
            {{"name", "int8"}, {"config", src + "/configs/int8-kl.json"}},
            {{"name", "low"},
             {"config",
              {{"version", 1},
               {"precision",
                {{"enc_self_attn", 4}, {"enc_ffn", 3}, {"dec_self_attn", 3}, {"dec_cross_attn", 4},
                 {"dec_ffn", dec_ffn_bits}, {"embedding", {{"clusters", 4}, {"ratio", 1.0}}},
                 {"output_projection", "embedding"}}}}}}}},
          {"evaluate", {{"beam", 2}, {"sentences", 50}, {"batch", 16}}},
          {"bench", {{"sentences", 8}, {"batch", 8}, {"threads", 1}}},
          {"export", {{"dir", "deploy"}, {"variants", {"int8", "low"}}}}};
}

std::string write_config(const json& j) {
  const std::string p = (scratch() / "pipeline.json").string();
  std::ofstream(p) << j.dump(1);
  return p;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("pipeline: runs every stage once, skips unchanged ones, redoes only what changed") {
  const std::string cfg = write_config(config(2));
  const fs::path out = scratch() / "out";

  // Ctrl-C once the first stage is recorded: no temporary file is left, and the
  // finished stage is not done again.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1), ::dup2(null, 2);
    ::execl(test::qtool_binary().c_str(), "qtool", "pipeline", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 6000 && !fs::exists(out / "stages" / "calibrate.json"); ++i) ::usleep(50000);
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(((WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
  for (const auto& e : fs::recursive_directory_iterator(out))
    CHECK_MESSAGE(!is_temp_output_name(e.path().filename().string()), e.path());

  Run r = run_qtool("pipeline " + cfg);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  // calibrate (done before the interrupt); quantize ×2; evaluate ×3; bench ×3; export
  CHECK(r.err.find("calibrate                    skipped") != std::string::npos);
  CHECK(r.err.find("skipped (inputs unchanged)") != std::string::npos);
  CHECK(r.out.find("| int8 |") != std::string::npos);
  const json res = json::parse(read_text_file((out / "results.json").string()));
  CHECK(res["format"] == "qtool-pipeline-results");
  REQUIRE(res["variants"].size() == 3);
  for (const json& v : res["variants"]) {
    CAPTURE(v["name"]);
    CHECK(v["bleu"]["greedy"].get<double>() > 5.0);  // 50 real sentences translated, not an empty file
    CHECK(v["bleu"]["beam"].is_number());
    CHECK(v["speed"]["tokens_per_second"].get<double>() > 0);
    CHECK(v["speed"]["peak_rss_mib"].get<double>() > 1.0);
    CHECK(v["layers"].size() > 0);
  }
  CHECK(res["variants"][0]["average_bits"]["all"] == 32.0);
  CHECK(res["variants"][1]["code_bits"]["all"] == 8.0);
  // Stored bits count the row scales: 8 + 32 / in_features on every matrix.
  CHECK(res["variants"][1]["average_bits"]["all"].get<double>() > 8.0);
  CHECK(res["variants"][1]["average_bits"]["all"].get<double>() < 8.0 + 32.0 / 16);
  CHECK(res["variants"][2]["average_bits"]["all"].get<double>() < 4.0);
  CHECK(res["variants"][2]["bytes"].get<int64_t>() < res["variants"][1]["bytes"].get<int64_t>());
  // The evaluation is the same as eval-bleu's: same model, same sentences.
  CHECK(res["calibration"]["tensors"].size() > 10);
  CHECK(res["calibration"]["tensors"][0]["histogram"]["counts"].size() == 128);
  CHECK(fs::file_size(out / "report.html") > 1000);
  CHECK(fs::exists(out / "deploy" / "low.qtm"));
  CHECK(fs::file_size(out / "deploy" / "int8.qtm") == fs::file_size(out / "variants" / "int8" / "model.qtm"));

  r = run_qtool("pipeline " + cfg);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.err.find("0 stage(s) run, 10 skipped") != std::string::npos);
  CHECK(count(r.err, "  skipped (inputs unchanged)") == 10);  // the stage lines, padded

  // One variant changed: its quantize, evaluate and bench, and the export that packs it.
  write_config(config(3));
  r = run_qtool("pipeline " + cfg);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.err.find("4 stage(s) run, 6 skipped") != std::string::npos);
  for (const char* s : {"quantize/low", "evaluate/low", "bench/low", "export"})
    CHECK_MESSAGE(r.err.find(std::string(s) + " ") != std::string::npos, s);
  CHECK(r.err.find("quantize/int8                 running") == std::string::npos);

  // An output deleted by hand is rebuilt by its own stage only.
  fs::remove(out / "variants" / "int8" / "eval.json");
  r = run_qtool("pipeline " + cfg);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.err.find("1 stage(s) run, 9 skipped") != std::string::npos);

  // --only with --force redoes just that stage.
  r = run_qtool("pipeline " + cfg + " --only evaluate/fp32 --force");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.err.find("1 stage(s) run, 0 skipped") != std::string::npos);
  r = run_qtool("pipeline " + cfg + " --only nosuchstage");
  CHECK(r.code == 1);
  CHECK(r.err.find("--only nosuchstage: no such stage") != std::string::npos);

  // --json: the results document on stdout.
  r = run_qtool("pipeline " + cfg + " --json");
  REQUIRE(r.code == 0);
  CHECK(json::parse(r.out)["variants"].size() == 3);
}

TEST_CASE("pipeline: a bad config is refused on one line before any work") {
  json j = config(2);
  j["output_dir"] = "never";
  j["variants"][1]["config"] = "/nonexistent/int8.json";
  const std::string cfg = write_config(j);
  const Run r = run_qtool("pipeline " + cfg);
  CHECK(r.code == 1);
  CHECK(r.err.find("qtool: error: " + cfg + ": variants[1].config: /nonexistent/int8.json does not exist") == 0);
  CHECK(count(r.err, "\n") == 1);
  CHECK_FALSE(fs::exists(scratch() / "never"));
}
