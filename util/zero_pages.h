// Floats in fresh anonymous pages: they read as zero, and a page becomes resident
// only when first written. For buffers sized for the worst case but filled from
// the front (the decoder's key/value caches), so peak memory follows what is used.
#pragma once
#include <cstddef>

namespace qtool {

class ZeroPages {
 public:
  ZeroPages() = default;
  explicit ZeroPages(size_t floats);  // throws std::bad_alloc when the pages cannot be mapped
  ~ZeroPages();
  ZeroPages(ZeroPages&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  ZeroPages& operator=(ZeroPages&& o) noexcept;
  ZeroPages(const ZeroPages&) = delete;
  ZeroPages& operator=(const ZeroPages&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  float* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qtool
