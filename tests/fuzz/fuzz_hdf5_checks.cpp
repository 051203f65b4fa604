// The HDF5 importer's validation layer: check_dataset() answered by fuzzed
// bytes instead of libhdf5 (checkpoint/hdf5_checks.h). The input is the
// dataset's path up to a NUL byte, then the answers, read in the order the
// checks ask; an exhausted input answers 0. libhdf5's own parsing of damaged
// files is not fuzzed here: docs/fuzzing.md says why.
#include <cstring>
#include <string>

#include "checkpoint/hdf5_checks.h"
#include "tests/fuzz/fuzz_util.h"

namespace {
using namespace qtool::checkpoint;

class Answers {
 public:
  Answers(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  template <class T>
  T take() {
    T v{};
    const size_t n = std::min<size_t>(sizeof v, end_ - p_);
    std::memcpy(&v, p_, n);
    p_ += n;
    return v;
  }
  bool flag() { return take<uint8_t>() & 1; }
  // A value of an HDF5 enum, from its error value (-1) to one past its last:
  // what libhdf5 can return, and no more (other values would be UB to hold).
  template <class Enum>
  Enum in_enum(int past_last) { return Enum(int(take<uint8_t>() % (past_last + 2)) - 1); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

class FuzzedFacts final : public DatasetFacts {
 public:
  explicit FuzzedFacts(Answers& a) : a_(a) {}
  int external_file_count() override { return a_.take<int8_t>(); }
  H5D_layout_t layout() override { return a_.in_enum<H5D_layout_t>(H5D_NLAYOUTS); }
  bool type_readable() override { return a_.flag(); }
  H5T_class_t type_class() override { return a_.in_enum<H5T_class_t>(H5T_NCLASSES); }
  size_t type_size() override { return a_.take<uint64_t>(); }
  bool is_ieee_f32() override { return a_.flag(); }
  bool space_readable() override { return a_.flag(); }
  H5S_class_t space_class() override { return a_.in_enum<H5S_class_t>(H5S_NULL + 1); }
  int rank() override { return a_.take<int8_t>(); }
  bool dims(std::span<hsize_t> out) override {
    for (hsize_t& d : out) d = a_.take<uint64_t>();
    return a_.flag();
  }
  bool storage_allocated() override { return a_.flag(); }
  int chunk_dims(std::span<hsize_t, kMaxRank> out) override {
    const int rank = a_.take<int8_t>();
    for (int i = 0; i < rank && i < kMaxRank; ++i) out[i] = a_.take<uint64_t>();
    return rank;
  }
  bool stored_chunk_count(uint64_t& n) override {
    n = a_.take<uint64_t>();
    return a_.flag();
  }
  bool filtered() override { return a_.flag(); }
  // libhdf5's messages come from the file's bytes too.
  std::string reason() override { return a_.flag() ? ": bad \x1b[31m\nthing" : ""; }

 private:
  Answers& a_;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t name_len = strnlen(reinterpret_cast<const char*>(data), size);
  const std::string path(reinterpret_cast<const char*>(data), name_len);
  Answers answers(data + std::min(size, name_len + 1), size - std::min(size, name_len + 1));
  qtool::TensorMap tensors;
  if (answers.flag()) tensors["model.seen"];  // a dataset read before, to collide with
  const uint64_t file_bytes = answers.take<uint64_t>();
  FuzzedFacts facts(answers);
  qtool::fuzz::expect_clean("m.h5: ", [&] {
    const CheckedDataset d = check_dataset(facts, path, "m.h5", file_bytes, tensors);
    using qtool::fuzz::require;
    require(d.name.find('/') == std::string::npos && !tensors.count(d.name), "a new dotted name");
    require(d.shape.size() <= size_t(kMaxRank) && d.count <= kMaxElements, "rank and count within limits");
    uint64_t product = 1;
    for (int64_t dim : d.shape) {
      require(dim >= 0, "dimensions fit in int64");
      product *= uint64_t(dim);
    }
    require(product == d.count, "count is the product of the shape");
  });
  return 0;
}
