// The HDF5 reader's decisions about one dataset, kept apart from libhdf5 so
// they can be fed arbitrary answers: a DatasetFacts says what a dataset reports
// about itself, check_dataset() turns that into a tensor name and shape or a
// one-line error. read_hdf5 answers from the file; tests/fuzz/fuzz_hdf5_checks.cpp
// answers with fuzzed bytes (docs/fuzzing.md says why the file itself is not fuzzed).
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/tensor.h"

namespace qtool::checkpoint {

inline constexpr int kMaxRank = 8;
// A filtered (compressed) dataset's dimensions are not bounded by its stored
// bytes, so the allocation is capped: 2^34 floats = 64 GB, far above any model here.
inline constexpr uint64_t kMaxElements = 1ull << 34;

// The questions check_dataset asks, in the order it asks them; each is asked only
// when the answer matters. A failed query returns its "unreadable" value and
// reason() says why (": <libhdf5's message>" or "").
class DatasetFacts {
 public:
  virtual ~DatasetFacts() = default;
  virtual int external_file_count() = 0;  // < 0: unreadable
  virtual H5D_layout_t layout() = 0;      // H5D_LAYOUT_ERROR: unreadable
  virtual bool type_readable() = 0;
  virtual H5T_class_t type_class() = 0;
  virtual size_t type_size() = 0;          // bytes
  virtual bool is_ieee_f32() = 0;          // H5T_IEEE_F32LE or H5T_IEEE_F32BE
  virtual bool space_readable() = 0;
  virtual H5S_class_t space_class() = 0;
  virtual int rank() = 0;                  // < 0: unreadable
  virtual bool dims(std::span<hsize_t> out) = 0;        // out.size() == rank
  virtual bool storage_allocated() = 0;                  // not chunked: every byte allocated
  virtual int chunk_dims(std::span<hsize_t, kMaxRank> out) = 0;  // chunk rank, < 0 unreadable
  virtual bool stored_chunk_count(uint64_t& n) = 0;
  virtual bool filtered() = 0;             // a filter pipeline (compression) is set
  virtual std::string reason() = 0;        // shown escaped (it may hold bytes from the file)
};

struct CheckedDataset {
  std::string name;            // dotted tensor name
  std::vector<int64_t> shape;
  uint64_t count = 0;          // elements, ≤ kMaxElements
};

// `path` is the dataset's path below "/", `file_bytes` the file's size, `tensors`
// those read so far (a second dataset with the same dotted name is refused).
CheckedDataset check_dataset(DatasetFacts& facts, const std::string& path, const std::string& file,
                             uint64_t file_bytes, const TensorMap& tensors);

// "32-bit float", "string", … for messages.
std::string hdf5_type_str(H5T_class_t type_class, size_t type_size);

}  // namespace qtool::checkpoint
