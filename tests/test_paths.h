// Where the tests find their data: the repo's own copies, and ../shared (the
// reference kit) when it is present.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>

namespace qtool::test {
inline std::string source_dir() { return QTOOL_SOURCE_DIR; }
inline std::string shared_dir() { return QTOOL_SHARED_DIR; }
inline bool have_shared() { return std::filesystem::exists(shared_dir() + "/models"); }
inline std::string bundled_model() { return source_dir() + "/models/ddtp-en-de-tiny"; }
#ifdef QTOOL_BINARY  // not in a runtime-only (device) build
inline std::string qtool_binary() { return QTOOL_BINARY; }
#endif
inline std::string qtool_run_binary() { return QTOOL_RUN_BINARY; }
// A fresh directory of this test process's own under the system's temporary
// directory ("<prefix><pid>"), emptied when first asked for.
inline std::filesystem::path scratch_dir(const std::string& prefix) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / (prefix + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}
}  // namespace qtool::test
