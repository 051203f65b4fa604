#include "util/zero_pages.h"

#include <sys/mman.h>

#include <new>
#include <utility>

namespace qtool {

ZeroPages::ZeroPages(size_t floats) : size_(floats) {
  if (floats == 0) return;
  void* p = ::mmap(nullptr, floats * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<float*>(p);
}

ZeroPages::~ZeroPages() {
  if (data_) ::munmap(data_, size_ * sizeof(float));
}

ZeroPages& ZeroPages::operator=(ZeroPages&& o) noexcept {
  ZeroPages old(std::move(*this));
  data_ = std::exchange(o.data_, nullptr);
  size_ = std::exchange(o.size_, 0);
  return *this;
}

}  // namespace qtool
