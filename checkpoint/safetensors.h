// safetensors reader: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {...}}, then
// the byte buffer. Everything is validated before anything is allocated:
// header size cap, checked size arithmetic, offsets inside the buffer, no
// overlaps, no holes, byte counts that match dtype × shape.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "model/tensor.h"
#include "util/mapped_file.h"

namespace qtool::checkpoint {

// Parses a whole safetensors file held in memory. `file` is used in messages only.
// F32, F16 and BF16 tensors are converted to FP32; other dtypes are refused.
// When `bytes` are those of `mapped`, each tensor's pages are released once it
// is copied out, so the file and its tensors are never resident together.
TensorMap parse_safetensors(std::span<const uint8_t> bytes, const std::string& file,
                            const MappedFile* mapped = nullptr);
TensorMap read_safetensors(const std::string& path);

}  // namespace qtool::checkpoint
