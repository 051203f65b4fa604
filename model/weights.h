// A Marian checkpoint's tensors resolved to their roles, with every shape
// checked against the config. Resolution follows Hugging Face: each module uses
// its own tensor when the checkpoint has one (model.encoder.embed_tokens.weight,
// model.decoder.embed_tokens.weight, lm_head.weight) and falls back to
// model.shared.weight (or, for the output projection, the decoder embedding)
// only when it is absent.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/clustered_embedding.h"
#include "model/qtensor.h"
#include "model/tensor.h"

namespace qtool {

using TensorPtr = std::shared_ptr<const Tensor>;

// A static INT8 input from calibration: clipping threshold T; a one-sided input
// (never negative) uses u8 over [0, T] with zero point 0.
struct CalibratedInput {
  float threshold = 0.0f;
  bool one_sided = false;
};

// The thresholds a file may give: T becomes a float, and the INT8 scale T / 255
// (or / 127) and its inverse must be normal floats, so T stays well inside the
// float range. Real activations are many orders of magnitude inside these bounds.
inline constexpr double kMinThreshold = 1e-30, kMaxThreshold = 1e30;
inline bool valid_threshold(double t) { return t >= kMinThreshold && t <= kMaxThreshold; }

struct LinearWeights {
  TensorPtr weight;  // [out, in], as stored by PyTorch's nn.Linear; null once quantized
  TensorPtr bias;    // [out]
  std::shared_ptr<const Int8Tensor> int8;  // set when the weight is INT8
  float input_threshold = 0.0f;  // calibrated clipping threshold of the input (static INT8); 0 = dynamic
  bool input_one_sided = false;  // the calibrated input is never negative: u8 over [0, T], zero point 0
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
// Every LayerNorm with its name prefix.
std::vector<std::pair<std::string, LayerNormWeights*>> layer_norms(MarianWeights& w);

}  // namespace qtool
