// Runs qtool (or qtool-run) through the shell for the end-to-end tests.
//
// Under LeakSanitizer (the sanitizer CI) the exit-time leak scan's own
// stop-the-world tracer now and then crashes ("Tracer caught signal 11",
// "LeakSanitizer has encountered a fatal error", exit 134): a failure of the
// scan, not a leak report, one run in a few hundred, not reproduced alone. Such
// a run is made again (twice at most), so the leak scan stays on for every
// command; any other outcome is returned as it is. qtool writes its outputs
// through a temporary file and a rename, so running a command again is safe.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/test_paths.h"
#include "util/file.h"

namespace qtool::test {

struct QtoolRun {
  int code;
  std::string out, err;
};

inline bool leak_scan_crashed(const QtoolRun& r) {
  return r.code == 134 && r.err.find("LeakSanitizer has encountered a fatal error") != std::string::npos;
}

// `BINARY ARGS` (qtool or qtool-run), stdout and stderr kept in files under `dir`.
inline QtoolRun run_program_in(const std::filesystem::path& dir, const std::string& binary, const std::string& args) {
  const std::string out = (dir / "stdout").string(), err = (dir / "stderr").string();
  const std::string cmd = binary + " " + args + " >" + out + " 2>" + err;
  QtoolRun r{};
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int status = std::system(cmd.c_str());
    r = {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text_file(out), read_text_file(err)};
    if (!leak_scan_crashed(r)) break;
  }
  return r;
}

// `qtool ARGS`, as above.
inline QtoolRun run_qtool_in(const std::filesystem::path& dir, const std::string& args) {
  return run_program_in(dir, qtool_binary(), args);
}

}  // namespace qtool::test
