#include "checkpoint/hdf5_checks.h"

#include <optional>

#include "checkpoint/reader_util.h"
#include "util/error.h"

namespace qtool::checkpoint {
namespace {

// "model/encoder/layers/0/fc1/weight" → "model.encoder.layers.0.fc1.weight".
std::string dotted(std::string path) {
  for (char& c : path)
    if (c == '/') c = '.';
  return path;
}

// Every element stored in the file? Unwritten storage reads as fill values, not
// weights. For chunked data H5Dget_space_status compares stored bytes with the
// raw size, which compression breaks, so chunks are counted instead.
bool fully_written(DatasetFacts& facts, H5D_layout_t layout, const std::vector<uint64_t>& dims) {
  if (layout != H5D_CHUNKED) return facts.storage_allocated();
  hsize_t chunk[kMaxRank] = {};
  if (facts.chunk_dims(chunk) != int(dims.size())) return false;
  uint64_t expected = 1;  // ≤ the element count: no overflow
  for (size_t i = 0; i < dims.size(); ++i) {
    if (chunk[i] == 0) return false;
    expected *= dims[i] / chunk[i] + (dims[i] % chunk[i] != 0);  // ceil, without dims + chunk overflowing
  }
  uint64_t stored = 0;
  return facts.stored_chunk_count(stored) && stored == expected;
}

}  // namespace

std::string hdf5_type_str(H5T_class_t type_class, size_t type_size) {
  const std::string bits = std::to_string(type_size * 8) + "-bit ";
  switch (type_class) {
    case H5T_FLOAT: return bits + "float";
    case H5T_INTEGER: return bits + "integer";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    default: return "unknown type";
  }
}

CheckedDataset check_dataset(DatasetFacts& facts, const std::string& path, const std::string& file,
                             uint64_t file_bytes, const TensorMap& tensors) {
  auto bad = [&](const std::string& what) { fail(file, "dataset '/" + printable(path) + "' " + what); };
  CheckedDataset out;
  out.name = dotted(path);
  if (tensors.count(out.name))
    bad("maps to tensor name '" + printable(out.name) + "', which another dataset already has");

  // Storage: the data must live in this file.
  const int external = facts.external_file_count();
  if (external < 0) bad("has unreadable storage properties" + printable(facts.reason()));
  if (external > 0) bad("keeps its data in external files, which is refused");
  const H5D_layout_t layout = facts.layout();
  if (layout == H5D_VIRTUAL) bad("is a virtual dataset (data mapped from other datasets or files), which is refused");
  if (layout < 0 || layout >= H5D_NLAYOUTS) bad("has an unreadable storage layout" + printable(facts.reason()));

  // Type: IEEE float32 either byte order; anything else would be converted silently.
  if (!facts.type_readable()) bad("has an unreadable datatype" + printable(facts.reason()));
  const H5T_class_t type_class = facts.type_class();
  const size_t type_size = facts.type_size();
  if (type_class != H5T_FLOAT || type_size != 4) bad("is " + hdf5_type_str(type_class, type_size) + ", expected 32-bit float");
  if (!facts.is_ieee_f32()) bad("is a 32-bit float in a non-IEEE layout");

  // Shape.
  if (!facts.space_readable()) bad("has an unreadable dataspace" + printable(facts.reason()));
  const H5S_class_t space_class = facts.space_class();
  if (space_class != H5S_SIMPLE && space_class != H5S_SCALAR) bad("has a null dataspace (no data)");
  const int rank = facts.rank();
  if (rank < 0 || rank > kMaxRank)
    bad("has rank " + std::to_string(rank) + "; at most " + std::to_string(kMaxRank) + " is supported");
  hsize_t dims[kMaxRank] = {};
  if (rank > 0 && !facts.dims(std::span<hsize_t>(dims, rank))) bad("has unreadable dimensions" + printable(facts.reason()));
  const std::vector<uint64_t> shape(dims, dims + rank);
  const std::optional<uint64_t> count = checked_element_count(shape);
  out.shape.assign(shape.begin(), shape.end());
  if (!count || *count > kMaxElements) bad("has shape " + shape_str(out.shape) + ", too many elements");
  out.count = *count;

  if (out.count > 0 && !fully_written(facts, layout, shape))
    bad("has no data written for part or all of shape " + shape_str(out.shape));
  // Unfiltered data is stored as is, so it cannot be larger than the file: a
  // damaged shape is refused here, before its buffer is allocated.
  if (out.count * 4 > file_bytes && !(layout == H5D_CHUNKED && facts.filtered()))
    bad("has shape " + shape_str(out.shape) + ", which needs " + std::to_string(out.count * 4) +
        " bytes, but the file has " + std::to_string(file_bytes));
  return out;
}

}  // namespace qtool::checkpoint
