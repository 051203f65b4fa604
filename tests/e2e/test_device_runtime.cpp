// qtool-run, the device runtime: one static executable (no dynamic loader, no
// library to ship beside it) that translates every kind of .qtm exactly as
// `qtool translate` does, FP32 included although it multiplies with Eigen
// there rather than oneDNN (cli/CMakeLists.txt).
#include <doctest/doctest.h>

#include <elf.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/run_qtool.h"
#include "tests/test_paths.h"
#include "util/file.h"

using namespace qtool;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static const fs::path d = test::scratch_dir("qtool_run_test_");
  return d;
}

// Whether an ELF64 file asks for a program interpreter (PT_INTERP): every
// dynamically linked executable does, a static one does not.
bool has_interpreter(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  Elf64_Ehdr eh{};
  REQUIRE(f.read(reinterpret_cast<char*>(&eh), sizeof eh));
  REQUIRE(std::string(reinterpret_cast<const char*>(eh.e_ident), 4) == "\x7f" "ELF");
  REQUIRE(eh.e_ident[EI_CLASS] == ELFCLASS64);
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    f.seekg(static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize));
    REQUIRE(f.read(reinterpret_cast<char*>(&ph), sizeof ph));
    if (ph.p_type == PT_INTERP) return true;
  }
  return false;
}

// `qtool-run ARGS`, retried as qtool's runs are (tests/run_qtool.h).
test::QtoolRun run_device(const std::string& args) {
  return test::run_program_in(scratch(), test::qtool_run_binary(), args);
}

}  // namespace

TEST_CASE("qtool-run is one static executable") {
  if (!QTOOL_RUN_STATIC) return;  // a sanitizer build links it dynamically
  CHECK_FALSE(has_interpreter(test::qtool_run_binary()));
  CHECK(has_interpreter(test::qtool_binary()));  // the check can tell the two apart
}

TEST_CASE("qtool-run translates FP32, INT8 and low-bit .qtm files as qtool translate does") {
  const std::string model = test::bundled_model(), data = test::source_dir() + "/data/ddtp-en-de";
  const fs::path in = scratch() / "src.en";
  {
    std::ifstream dev(data + "/dev.en");
    std::ofstream out(in);
    std::string line;
    for (int i = 0; i < 80 && std::getline(dev, line); ++i) out << line << '\n';
  }
  const std::string configs = test::source_dir() + "/configs/";
  const std::pair<const char*, std::string> variants[] = {
      {"fp32", "--config " + configs + "fp32.json"},
      {"int8", "--config " + configs + "int8-dynamic.json"},
      {"lowbit", "--config " + configs + "lowbit-search-2.6.json --token-counts " + data + "/token-counts.json"}};
  for (const auto& [name, how] : variants) {
    CAPTURE(name);
    const std::string qtm = (scratch() / (std::string(name) + ".qtm")).string();
    const std::string a = (scratch() / (std::string(name) + ".qtool.de")).string();
    const std::string b = (scratch() / (std::string(name) + ".run.de")).string();
    REQUIRE(test::run_qtool_in(scratch(), "quantize --quiet --model " + model + " " + how + " --output " + qtm).code == 0);
    REQUIRE(test::run_qtool_in(scratch(), "translate --quiet --model " + qtm + " --input " + in.string() +
                                              " --output " + a + " --batch 8 --threads 2").code == 0);
    const test::QtoolRun r = run_device("--quiet --model " + qtm + " --input " + in.string() + " --output " + b +
                             " --batch 8 --threads 2");
    REQUIRE(r.code == 0);
    CHECK(r.err.find("peak RSS ") != std::string::npos);
    const std::string ta = read_text_file(a), tb = read_text_file(b);
    CHECK(std::count(tb.begin(), tb.end(), '\n') == 80);
    CHECK(ta == tb);
    // --bench: qtool bench's figures, from the device runtime itself.
    const test::QtoolRun bench = run_device("--quiet --model " + qtm + " --input " + in.string() + " --bench --json --batch 8");
    REQUIRE(bench.code == 0);
    const nlohmann::json j = nlohmann::json::parse(bench.out);
    CHECK(j.at("sentences") == 80);
    CHECK(j.at("target_tokens").get<int64_t>() >= 80);  // one eos a line at least
    CHECK(j.at("model_file_bytes").get<int64_t>() == static_cast<int64_t>(fs::file_size(qtm)));
    CHECK(j.at("peak_rss_bytes").get<int64_t>() > 1 << 20);
    CHECK(j.at("batch") == 8);
  }
  // --bench writes nothing, so it takes no --output; --json needs --bench.
  CHECK(run_device("--quiet --model " + (scratch() / "fp32.qtm").string() + " --input " + in.string()).code != 0);
  CHECK(run_device("--quiet --model " + (scratch() / "fp32.qtm").string() + " --input " + in.string() +
                   " --bench --output " + (scratch() / "x.de").string()).code != 0);
  CHECK(run_device("--quiet --model " + (scratch() / "fp32.qtm").string() + " --input " + in.string() +
                   " --json --output " + (scratch() / "x.de").string()).code != 0);
  CHECK_FALSE(fs::exists(scratch() / "x.de"));
  // A checkpoint is not a .qtm: refused on one line, naming the file.
  const test::QtoolRun bad = run_device("--quiet --model " + model + "/model.safetensors --input " + in.string() + " --output " +
                             (scratch() / "bad.de").string());
  CHECK(bad.code != 0);
  CHECK(bad.err.find("model.safetensors: not a .qtm model") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "bad.de"));
}
