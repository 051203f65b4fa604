#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "tests/resident.h"
#include "util/mapped_file.h"

using namespace qtool;
namespace fs = std::filesystem;

TEST_CASE("MappedFile::release gives the pages back and the bytes stay readable") {
  const fs::path path = fs::temp_directory_path() / ("qtool_test_mapped_" + std::to_string(::getpid()));
  const size_t n = 4 << 20;
  {
    std::ofstream out(path, std::ios::binary);
    for (size_t i = 0; i < n; ++i) out.put(static_cast<char>(i * 7 + 3));
  }
  auto map = MappedFile::open(path.string());
  const std::span<const uint8_t> b = map->bytes();
  REQUIRE(b.size() == n);
  const long sum = std::accumulate(b.begin(), b.end(), 0L);  // every page touched
  CHECK(test::resident_kib_at(b.data()) >= long(n / 1024));
  map->release(b.subspan(1 << 20, 2 << 20));  // the middle half: ~2 MiB fewer resident
  const long after = test::resident_kib_at(b.data());
  CHECK(after >= 2048 - 4);
  CHECK(after <= 2048 + 8);  // whole pages: the range widened by at most one page each side
  map->release(b);
  CHECK(test::resident_kib_at(b.data()) == 0);
  CHECK(std::accumulate(b.begin(), b.end(), 0L) == sum);  // read back from the file
  const uint8_t elsewhere[16] = {};
  map->release(b.subspan(0, 0));    // an empty range: nothing
  map->release({elsewhere, 16});    // not the mapping's bytes: ignored
  CHECK(std::accumulate(b.begin(), b.end(), 0L) == sum);
  fs::remove(path);
}
