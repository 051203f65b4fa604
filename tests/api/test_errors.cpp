// A malformed or missing model, or an option the CLI also refuses: the public
// API throws qtool::Error whose what() is exactly the line `qtool translate`
// prints, and nothing is written. (Apart from test_translator.cpp because it
// runs the qtool binary: the ThreadSanitizer build need not build the CLI.)
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint.h"
#include "export/qtm_writer.h"
#include "qtool/translator.h"
#include "tests/run_qtool.h"
#include "tests/test_paths.h"

namespace fs = std::filesystem;

namespace {

std::string tiny() { return qtool::test::bundled_model(); }

fs::path scratch() {
  static const fs::path d = qtool::test::scratch_dir("qtool_api_errors_");
  return d;
}

// `qtool translate ARGS`: its exit status and the first line of its stderr.
std::pair<int, std::string> cli_error(const std::string& args) {
  const qtool::test::QtoolRun r = qtool::test::run_qtool_in(scratch(), "translate " + args + " --quiet");
  return {r.code, r.err.substr(0, r.err.find('\n'))};
}

std::string api_error(const std::string& model, const qtool::TranslatorOptions& o = {}) {
  try {
    qtool::Translator t(model, o);
    t.translate({"Hello."});
  } catch (const qtool::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a bad model: the API's message is the CLI's line") {
  const std::string input = (scratch() / "in.en").string(), output = (scratch() / "out.de").string();
  { std::ofstream(input) << "Hello.\n"; }
  const std::string missing = (scratch() / "no-such-model").string();
  // A malformed checkpoint: config.json cut short.
  const fs::path bad = scratch() / "bad-model";
  fs::create_directories(bad);
  for (const char* f : {"vocab.json", "source.spm", "target.spm", "model.safetensors"})
    fs::copy_file(tiny() + "/" + f, bad / f, fs::copy_options::overwrite_existing);
  { std::ofstream(bad / "config.json") << "{\"d_model\": 128,"; }
  // A file that is no model at all, and a .qtm cut in half.
  const std::string junk = (scratch() / "junk.qtm").string();
  { std::ofstream(junk) << "not a model\n"; }
  qtool::checkpoint::Checkpoint ck = qtool::checkpoint::load_checkpoint(tiny());
  const std::string qtm = (scratch() / "tiny.qtm").string(), cut = (scratch() / "cut.qtm").string();
  qtool::exporter::write_qtm(qtm, ck.weights, ck.vocab_files, "{}");
  fs::copy_file(qtm, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(qtm) / 2);

  for (const std::string& model : {missing, bad.string(), junk, cut}) {
    CAPTURE(model);
    const auto [status, line] = cli_error("--model " + model + " --input " + input + " --output " + output);
    CHECK(status == 1);
    CHECK(line.rfind("qtool: error: ", 0) == 0);
    CHECK(api_error(model) == line);
  }
  // An option the CLI passes on: --quantize on a packed model.
  qtool::TranslatorOptions o;
  o.quantize = "int8";
  const auto [status, line] = cli_error("--model " + qtm + " --quantize int8 --input " + input + " --output " + output);
  CHECK(status == 1);
  CHECK(api_error(qtm, o) == line);
  CHECK_FALSE(fs::exists(output));  // nothing written
  fs::remove_all(scratch());
}
