// A file mapped read-only into memory: packed models are used in place, so their
// bytes are paged in from the file (shared, clean pages) instead of copied.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace qtool {

class MappedFile {
 public:
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // Drops this process's pages of `range` (a part of bytes()), widened to whole
  // pages: for bytes already copied out (or only checked), so a loaded model is
  // not also held as the file's pages. The bytes stay readable: touching them
  // again pages them back in from the file (the page cache keeps them).
  void release(std::span<const uint8_t> range) const;

  // Throws qtool::Error naming the file when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qtool
