// A Marian checkpoint's tensors resolved to their roles, with every shape
// checked against the config. Resolution follows Hugging Face: each module uses
// its own tensor when the checkpoint has one (model.encoder.embed_tokens.weight,
// model.decoder.embed_tokens.weight, lm_head.weight) and falls back to
// model.shared.weight (or, for the output projection, the decoder embedding)
// only when it is absent.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/clustered_embedding.h"
#include "model/qtensor.h"
#include "model/tensor.h"

namespace qtool {

using TensorPtr = std::shared_ptr<const Tensor>;

// A static INT8 input from calibration. Symmetric: s8 over [−T, T], scale T / 127
// (stored as u8 with zero point 128). Asymmetric: u8 with zero point z over
// [−z·s, T], scale s = T / (255 − z); z = 0 is a one-sided input (ReLU,
// softmax), z > 0 a lopsided one (GELU, SiLU: a small negative floor, a long
// positive tail). threshold 0 = no calibration: dynamic per-row scales.
struct CalibratedInput {
  float threshold = 0.0f;
  bool asymmetric = false;
  int32_t zero_point = 0;  // asymmetric only, 0..254
  bool one_sided() const { return asymmetric && zero_point == 0; }
  float scale() const { return asymmetric ? threshold / float(255 - zero_point) : threshold / 127.0f; }
  float low() const { return asymmetric ? -float(zero_point) * scale() : -threshold; }
};
inline constexpr int32_t kMaxZeroPoint = 254;

// The thresholds a file may give: T becomes a float, and the INT8 scale T / 255
// (or / 127) and its inverse must be normal floats, so T stays well inside the
// float range. Real activations are many orders of magnitude inside these bounds.
inline constexpr double kMinThreshold = 1e-30, kMaxThreshold = 1e30;
inline bool valid_threshold(double t) { return t >= kMinThreshold && t <= kMaxThreshold; }

struct LinearWeights {
  TensorPtr weight;  // [out, in], as stored by PyTorch's nn.Linear; null once quantized
  TensorPtr bias;    // [out]
  std::shared_ptr<const Int8Tensor> int8;  // set when the weight is INT8
  CalibratedInput input;  // static INT8: the calibrated input range; threshold 0 = dynamic
  std::shared_ptr<const BinaryCodeTensor> binary;             // set when binary-coded
  std::shared_ptr<const ClusteredBinaryEmbedding> clustered;  // output projection sharing a clustered embedding
  QType qtype() const { return int8 ? int8->type : binary || clustered ? QType::binary_code : QType::f32; }
  bool quantized() const { return int8 || binary || clustered; }
};
struct LayerNormWeights {
  TensorPtr gamma, beta;  // [d]
};
struct AttentionWeights {
  LinearWeights q, k, v, out;
};
struct EncoderLayerWeights {
  AttentionWeights self_attn;
  LayerNormWeights self_attn_norm;
  LinearWeights fc1, fc2;
  LayerNormWeights ffn_norm;
};
struct DecoderLayerWeights {
  AttentionWeights self_attn;
  LayerNormWeights self_attn_norm;
  AttentionWeights cross_attn;
  LayerNormWeights cross_attn_norm;
  LinearWeights fc1, fc2;
  LayerNormWeights ffn_norm;
};

struct MarianWeights {
  ModelConfig config;
  TensorPtr encoder_embed;      // [vocab_size, d_model]; null when INT8
  TensorPtr decoder_embed;      // [decoder_vocab_size, d_model]; null when INT8
  // INT8 embeddings, one scale per row. A tied model shares one quantized matrix
  // between the decoder embedding and the output projection (output.int8).
  std::shared_ptr<const Int8Tensor> encoder_embed_int8, decoder_embed_int8;
  // Binary-coded embeddings in frequency clusters; a tied model shares the
  // decoder's with the output projection (output.clustered).
  std::shared_ptr<const ClusteredBinaryEmbedding> encoder_embed_binary, decoder_embed_binary;
  // The output projection: weight [decoder_vocab_size, d_model] (the decoder
  // embedding when tied), bias = final_logits_bias (zeros when absent).
  LinearWeights output;
  std::vector<EncoderLayerWeights> encoder;
  std::vector<DecoderLayerWeights> decoder;
  // Pre-norm checkpoints may end each stack with a layer norm.
  LayerNormWeights encoder_final_norm, decoder_final_norm;  // null when absent
  // Where each embedding role came from, for `qtool inspect`.
  std::string encoder_embed_name, decoder_embed_name, output_projection_name;
};

// The quantized tensors of a packed model, by their checkpoint names.
struct QuantizedTensors {
  std::map<std::string, Int8Tensor> int8;
  std::map<std::string, std::shared_ptr<const BinaryCodeTensor>> binary;
  std::map<std::string, std::shared_ptr<const ClusteredBinaryEmbedding>> clustered;
};

// Consumes `tensors` (and the quantized tensors of a packed model, by the same
// names); `file` names the source in messages.
MarianWeights resolve_marian_weights(TensorMap tensors, const ModelConfig& config,
                                     const std::string& file, QuantizedTensors quantized = {});

}  // namespace qtool

namespace qtool {

// Every linear layer with its Hugging Face name prefix ("model.decoder.layers.2.fc1"),
// in a fixed order. The output projection is listed last as "lm_head" whether or
// not it is tied (its FP32 tensor may be the decoder embedding).
struct NamedLinear {
  std::string name;
  LinearWeights* weights;
};
std::vector<NamedLinear> linear_layers(MarianWeights& w);
// The name of a linear layer's input, as calibration records it: the first
// nn.Linear reading it. Self-attention k_proj/v_proj → q_proj;
// encoder_attn.v_proj → encoder_attn.k_proj; every other layer (and "lm_head")
// is its own name.
std::string linear_input_name(const std::string& linear_name);
// One matrix product of the runtime: the linear layers reading one input,
// stacked along the output (q, k, v → one product), by that input's name; fc1
// has the model's activation fused.
struct LinearProduct {
  std::string name;  // linear_input_name of its parts
  std::vector<LinearWeights> parts;
  std::optional<Activation> activation;
};
std::vector<LinearProduct> linear_products(MarianWeights& w);
// Every LayerNorm with its name prefix.
std::vector<std::pair<std::string, LayerNormWeights*>> layer_norms(MarianWeights& w);

}  // namespace qtool
