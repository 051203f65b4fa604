#include "util/content_hash.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "util/error.h"
#include "util/mapped_file.h"

namespace qtool {
namespace {
std::string hex(uint64_t h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

std::string hash_text(std::string_view text) { return hex(fnv1a64(text.data(), text.size())); }

std::string hash_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) == 0 && !ec) return hex(fnv1a64(nullptr, 0));
  auto f = MappedFile::open(path);
  return hex(fnv1a64(f->bytes().data(), f->bytes().size()));
}

std::string hash_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return hash_file(path);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.is_regular_file()) files.push_back(e.path());
  if (ec) fail(path, "cannot list the directory: " + ec.message());
  std::sort(files.begin(), files.end());
  uint64_t h = fnv1a64(nullptr, 0);
  for (const fs::path& f : files) {
    const std::string name = f.filename().string(), sum = hash_file(f.string());
    h = fnv1a64(name.data(), name.size() + 1, h);  // with the terminating NUL as a separator
    h = fnv1a64(sum.data(), sum.size(), h);
  }
  return hex(h);
}

}  // namespace qtool
