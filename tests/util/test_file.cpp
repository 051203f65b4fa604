#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

#include <fstream>

#include "util/error.h"
#include "util/file.h"

using namespace qtool;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("qtool_test_file_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("AtomicOutput: nothing appears until commit; a failed write keeps the old file") {
  fs::path d = temp_dir();
  const std::string out = (d / "out.txt").string();
  write_file_atomic(out, "old\n");
  {
    AtomicOutput f(out);
    f.stream() << "partial";
    // destroyed without commit, as when an exception unwinds
  }
  CHECK(read_text_file(out) == "old\n");
  for (const auto& e : fs::directory_iterator(d)) CHECK(e.path().filename() == "out.txt");
  {
    AtomicOutput f(out);
    f.stream() << "new\n";
    f.commit();
  }
  CHECK(read_text_file(out) == "new\n");
  fs::remove_all(d);
}

TEST_CASE("AtomicOutput: the temporary file is new, hidden, marked as qtool's, and beside the output") {
  fs::path d = temp_dir() / "tmpnames";
  fs::create_directories(d);
  const std::string out = (d / "m.qtm").string();
  // Files that merely look like temporaries (the old ".tmp.<pid>" scheme) are
  // somebody's data: never opened, truncated or removed.
  const std::string lookalike = out + ".tmp." + std::to_string(::getpid());
  write_file_atomic(lookalike, "keep me\n");
  std::string temp;
  {
    AtomicOutput f(out);
    temp = f.temp_path();
    f.stream() << "partial";
    CHECK(fs::path(temp).parent_path() == d);
    const std::string name = fs::path(temp).filename().string();
    CHECK(name.rfind(".m.qtm.qtool-tmp-", 0) == 0);
    CHECK(is_temp_output_name(name));
    CHECK_FALSE(is_temp_output_name("m.qtm"));
    CHECK_FALSE(is_temp_output_name("m.qtm.tmp.123"));
    CHECK(fs::exists(temp));
    CHECK_FALSE(fs::exists(out));
    AtomicOutput g(out);  // a second writer at once gets its own file
    CHECK(g.temp_path() != temp);
  }
  CHECK_FALSE(fs::exists(temp));
  CHECK_FALSE(fs::exists(out));
  CHECK(read_text_file(lookalike) == "keep me\n");
  // A directory as the output is refused by name, before anything is created.
  std::string e;
  try {
    AtomicOutput dir_out(d.string());
  } catch (const Error& err) {
    e = err.what();
  }
  CHECK(e == d.string() + ": is a directory; give a file name for the output");
  fs::remove_all(d);
}

TEST_CASE("read_lines keeps empty lines and a last line without newline") {
  fs::path d = temp_dir();
  const std::string p = (d / "in.txt").string();
  write_file_atomic(p, "a\n\nb");
  CHECK(read_lines(p) == std::vector<std::string>{"a", "", "b"});
  CHECK_THROWS_WITH_AS(read_lines((d / "missing").string()),
                       doctest::Contains("missing: cannot open"), Error);
  CHECK_THROWS_WITH_AS(check_distinct(p, p), doctest::Contains("is the same file as input"), Error);
  // An output in a directory that does not exist is refused before any work.
  const std::string lost = (d / "no-such-dir" / "out.qtm").string();
  CHECK_THROWS_WITH_AS(check_distinct(p, lost), doctest::Contains("no-such-dir does not exist"), Error);
  CHECK_NOTHROW(check_distinct(p, (d / "out.qtm").string()));
  CHECK_NOTHROW(check_distinct(p, "relative-out.txt"));
  fs::remove_all(d);
}
