#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "util/content_hash.h"
#include "util/error.h"

using namespace qtool;

TEST_CASE("FNV-1a 64 matches the published test vectors") {
  // From the FNV reference (Fowler/Noll/Vo, draft-eastlake-fnv): "" and "a", "foobar".
  CHECK(hash_text("") == "fnv1a64:cbf29ce484222325");
  CHECK(hash_text("a") == "fnv1a64:af63dc4c8601ec8c");
  CHECK(hash_text("foobar") == "fnv1a64:85944171f73967e8");
}

TEST_CASE("a file's hash is its bytes'; a directory's changes with any file's name or bytes") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("qtool-hash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "a.txt") << "foobar";
  std::ofstream(dir / "empty.txt");
  CHECK(hash_file((dir / "a.txt").string()) == "fnv1a64:85944171f73967e8");
  CHECK(hash_file((dir / "empty.txt").string()) == "fnv1a64:cbf29ce484222325");
  const std::string h1 = hash_path(dir.string());
  CHECK(hash_path(dir.string()) == h1);
  std::ofstream(dir / "a.txt") << "foobaz";
  const std::string h2 = hash_path(dir.string());
  CHECK(h2 != h1);
  fs::rename(dir / "a.txt", dir / "b.txt");
  CHECK(hash_path(dir.string()) != h2);
  CHECK_THROWS_AS(hash_file((dir / "missing").string()), Error);
  fs::remove_all(dir);
}
