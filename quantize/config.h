// The quantization config (JSON), validated on read: unknown keys and bad values
// are errors that name their JSON path. Format (docs/quantize-config.md):
//   {"version": 1,
//    "int8": {"weights": "per_channel" | "per_tensor",
//             "activations": "dynamic" | "static" (static needs a calibration file),
//             "output_projection": true, "embeddings": true},      (INT8-only configs)
//    "binary_code": {"iterations": 10, "group_size": 0, "activation_power": 1, "bias_correction": false,
//                    "gptq": {"damp": 0.01, "rounds": 2, "act_order": false,
//                             "embedding": false},
//                    "reconstruction": {"iterations": 100, "learning_rate": 0.001, "rows": 2048,
//                                       "ffn": true, "output": true}},
//    "precision": {"enc_self_attn": P, "enc_ffn": P, "dec_self_attn": P,
//                  "dec_cross_attn": P, "dec_ffn": P,
//                  "output_projection": P | "embedding",
//                  "embedding": P | {"clusters": b, "ratio": r, "bits": t},
//                  "layers": {"decoder.0.ffn": P, ...}},
//    "tokenizer": "embedded" | "beside", "vectors": "fp32" | "fp16",
//    "inputs": {"model": {"content_hash": h},
//               "calibration_data": {"file": f, "content_hash": h, "sentences": n},
//               "token_counts": {"file": f, "content_hash": h}}}     (optional)
// where P is 1..4 (binary-code planes), "int8" or "fp32". Without "precision"
// every linear layer is INT8 (the int8 section's flags choose the rest).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "quantize/binary_code.h"
#include "quantize/block_reconstruction.h"
#include "quantize/gptq.h"
#include "quantize/int8_model.h"

namespace qtool::quantize {

// One sub-layer's number format.
struct Precision {
  enum class Kind { fp32, int8, binary } kind = Kind::int8;
  int bits = 8;  // binary: sign planes, 1..4
  static Precision fp32() { return {Kind::fp32, 32}; }
  static Precision int8() { return {Kind::int8, 8}; }
  static Precision binary(int bits) { return {Kind::binary, bits}; }
  std::string str() const;  // "fp32", "int8", "2 bits"
  bool operator==(const Precision&) const = default;
};

// The sub-layer types the low-bit paper gives their own bits.
inline constexpr const char* kSublayerTypes[] = {"enc_self_attn", "enc_ffn", "dec_self_attn", "dec_cross_attn",
                                                 "dec_ffn"};

struct PrecisionPlan {
  std::map<std::string, Precision> sublayers;  // by kSublayerTypes name
  // Per-layer overrides: "encoder.N.self_attn", "encoder.N.ffn", "decoder.N.self_attn",
  // "decoder.N.cross_attn", "decoder.N.ffn".
  std::map<std::string, Precision> layers;
  Precision embedding = Precision::fp32();
  // > 0: frequency clusters, cluster i gets (embedding.bits − i) planes; embedding.bits
  // ("bits", default = clusters) is the most frequent cluster's.
  int embedding_clusters = 0;
  double embedding_ratio = 2.0;
  bool output_shares_embedding = true;  // "embedding": the tied matrix serves both (else quantized like it)
  Precision output_projection = Precision::int8();

  // The format of one linear layer ("model.decoder.layers.2.fc1"; not lm_head).
  Precision of(const std::string& linear_name) const;
};

// The override key of a linear layer ("decoder.2.ffn") and its sub-layer type ("dec_ffn").
std::pair<std::string, std::string> sublayer_of(const std::string& linear_name);

// What a searched plan was made from, so `qtool quantize --config plan.json`
// recomputes the same statistics (docs/quantize-config.md, "inputs"). Files are
// checked by content hash: a changed input is refused, naming it.
struct PlanInputs {
  bool present = false;
  std::string model_hash;                       // hash_path of the checkpoint
  std::string calibration_data, calibration_hash;  // source lines the H and counts come from
  int64_t calibration_sentences = 0;            // the first N lines
  std::string token_counts, token_counts_hash;  // a counts file; "" = count the data and its translations
};

struct QuantizeConfig {
  Int8Options int8;
  std::string activations = "dynamic";
  BinaryCodeOptions binary;   // bits come from the plan; column_weights from `column_weights`
  // Activation-aware binary code (not part of the file): h = E[x_i²] per input
  // column by calibration tensor name (calib.json's column_mean_square, see
  // linear_input_name()); empty = every layer unweighted.
  std::map<std::string, std::vector<float>> column_weights;
  double activation_power = 1.0;  // binary_code.activation_power a: the column weights are h^a
  // binary_code.gptq: binary-coded linear layers by GPTQ (gptq.h) on their input's
  // H = E[x xᵀ] from `hessians` (not part of the file: by calibration name, each
  // [cols][cols], read from `hessian_file`); a layer without one is refused.
  bool gptq = false;
  GptqOptions gptq_options;
  std::map<std::string, std::shared_ptr<const std::vector<float>>> hessians;
  std::string hessian_file;
  // binary_code.bias_correction: each binary-coded layer's bias absorbs the mean
  // of its output error, b += (W − Ŵ) E[x], and GPTQ then minimises what is left,
  // on the centred H − E[x]E[x]ᵀ. E[x] by calibration name (not part of the file:
  // a searched plan's recorded inputs give it).
  bool bias_correction = false;
  std::map<std::string, std::shared_ptr<const std::vector<float>>> input_means;
  // binary_code.reconstruction: after quantizing, every feed-forward sub-layer
  // with a binary-coded layer has its α, biases and LayerNorm fitted to the FP32
  // model's output (block_reconstruction.h); needs the calibration lines.
  bool reconstruction = false;
  ReconstructionOptions reconstruction_options;
  bool has_plan = false;      // "precision" given
  PrecisionPlan plan;
  // "beside": the .qtm records its tokenizer files (names, sizes, CRCs) and they
  // sit next to it, as beside a checkpoint's weights file; "embedded" (default):
  // inside it.
  bool tokenizer_beside = false;
  // "fp16": biases, LayerNorm parameters and final_logits_bias rounded to and
  // stored as halves (a low-bit model's remaining FP32 bytes); default "fp32".
  bool vectors_f16 = false;
  PlanInputs inputs;  // "inputs" (written by qtool search)
  std::string text;  // normalised JSON, recorded in the packed model
};

QuantizeConfig parse_quantize_config(const std::string& json_text, const std::string& file);

}  // namespace qtool::quantize
