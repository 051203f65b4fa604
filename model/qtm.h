// The packed model file, .qtm (format version 3; 1 and 2 are still read). Byte layout:
//
//   0   8 bytes  magic "QTOOLQTM"
//   8   u32 LE   format version (3)
//   12  u32 LE   reserved, 0
//   16  u64 LE   header length H in bytes
//   24  H bytes  header: one JSON object (below)
//   …   sections, each starting at a multiple of 64 bytes, zero padding between
//
// Header fields: "format": "qtm", "version": 3, "producer", "config_json" and
// "generation_config_json" (the checkpoint's texts), "vocab" (sections holding
// source_spm, target_spm, vocab_json and, when present, target_vocab_json and
// tokenizer_config_json), "tensors" ({name: {"qtype", "shape", "data", and for
// INT8 "scales"; binary codes "bits", "group_size", "alphas" and "alpha_dtype"
// ("f16" since version 2, "f32" in version 1)}}, names as in the Hugging Face checkpoint), "quantization" (the
// config that produced the file, for the record), "activations" ({linear name:
// {"threshold": T, "one_sided": bool[, "zero_point": z]}} for static INT8 inputs;
// zero_point since version 3), "int8_fallbacks" ({input name: {"input":
// "dynamic"|"fp32", "static_error", "dynamic_error"}}, version 3). With "vocab":
// {"location": "beside", role: {"file", "bytes", "crc32"}} the tokenizer files
// sit next to the .qtm instead (read and checked at load). A section is
// {"offset", "bytes", "crc32"}: absolute offset, 64-byte aligned, inside the
// file, not overlapping another, CRC-32 of its bytes. docs/format.md says the same.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>

#include "model/qtensor.h"
#include "model/tensor.h"
#include "model/vocabulary.h"
#include "model/weights.h"

namespace qtool {

inline constexpr char kQtmMagic[8] = {'Q', 'T', 'O', 'O', 'L', 'Q', 'T', 'M'};
inline constexpr uint32_t kQtmVersion = 3;
inline constexpr uint64_t kQtmAlign = 64;
inline constexpr uint64_t kQtmMaxHeader = 64ull << 20;

// A product whose static INT8 input was judged worse than dynamic quantization
// at calibration and runs dynamic or FP32 instead ("int8_fallbacks", version 3).
struct Int8Fallback {
  std::string input;  // "dynamic" or "fp32"
  double static_error = -1, dynamic_error = -1;  // relative squared output errors; −1: not measured
};

struct QtmModel {
  std::string config_json, generation_config_json;
  VocabularyFiles vocab;
  bool tokenizer_beside = false;  // vocab was read from files next to the .qtm
  TensorMap fp32;                        // fp16 vectors are widened into it too
  std::set<std::string> fp16_vectors;    // which of them the file stores as halves
  QuantizedTensors quantized;
  // The bytes binary-code tensors point into (a mapped file), when they are views.
  std::shared_ptr<const void> storage;
  std::string quantization_json;  // as recorded by the writer
  std::map<std::string, CalibratedInput> activations;  // static INT8 inputs, by linear name
  std::map<std::string, Int8Fallback> int8_fallbacks;  // by input name, for the record
};

// Validates everything before use; throws qtool::Error naming the file and field.
// With an `owner` of `bytes`, binary-code planes are used in place (views kept
// alive by it); without one they are copied.
QtmModel parse_qtm(std::span<const uint8_t> bytes, const std::string& file,
                   std::shared_ptr<const void> owner = nullptr);
QtmModel read_qtm(const std::string& path);
bool looks_like_qtm(const std::string& path);  // by its magic

// Resolves a parsed file into the model's roles (shapes checked against its config).
MarianWeights qtm_weights(QtmModel& m, const std::string& file);

}  // namespace qtool
