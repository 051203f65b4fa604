// The Marian encoder-decoder as the runtime executes it: layers built from
// resolved weights, an encoder over a padded batch, and a decoder that advances
// one token per call with cached self-attention keys/values and cross-attention
// keys/values computed once per sentence.
#pragma once
#include <memory>
#include <vector>

#include "model/config.h"
#include "model/weights.h"
#include "runtime/ops/attention_int8.h"
#include "runtime/ops/linear.h"

namespace qtool::runtime {

struct NormParams {
  std::vector<float> gamma, beta;
  bool present() const { return !gamma.empty(); }
};

struct EncoderLayer {
  std::unique_ptr<Linear> qkv, out, fc1, fc2;
  NormParams attn_norm, ffn_norm;
  std::string attn_name;  // "model.encoder.layers.N.self_attn"
};
struct DecoderLayer {
  std::unique_ptr<Linear> self_qkv, self_out, cross_q, cross_kv, cross_out, fc1, fc2;
  NormParams self_norm, cross_norm, ffn_norm;
  std::string self_name, cross_name;  // "model.decoder.layers.N.self_attn", ".encoder_attn"
};

// Encoder result for a batch of sentences padded to max_len.
struct EncoderOutput {
  int64_t batch = 0, max_len = 0;
  std::vector<int64_t> lengths;
  std::vector<float> hidden;  // [batch, max_len, d_model]
};

// Decoding state for `rows` hypotheses; rows map to sentences of one EncoderOutput.
struct DecoderState {
  int64_t step = 0;                 // tokens fed so far
  std::vector<int64_t> sentence;    // row → sentence
  int64_t d_model = 0;
  int64_t capacity = 0;             // positions allocated per row in the caches
  std::vector<std::vector<float>> self_k, self_v;    // per layer [rows, capacity, d]
  std::vector<std::vector<float>> cross_kv;          // per layer [batch, max_len, 2d]
  // Integer attention (MarianModel::int8_attention()): the caches above stay
  // empty and these hold keys and values as int8, per layer.
  bool int8 = false;
  std::vector<Int8KVCache> self_kv8;   // units (row, head)
  std::vector<Int8KVCache> cross_kv8;  // units (sentence, head), max_len steps
  const EncoderOutput* encoder = nullptr;
  int64_t rows() const { return static_cast<int64_t>(sentence.size()); }
};

class MarianModel {
 public:
  // Builds the runtime's layers; `weights` stay as they are (calibration and the
  // search go on using them).
  explicit MarianModel(const MarianWeights& weights);
  // The same, consuming `weights`: each tensor is let go as soon as its layer
  // holds it in the runtime's own layout (transposed, packed), so where `weights`
  // held the only reference, a model being loaded is never resident twice.
  explicit MarianModel(MarianWeights&& weights);

  const ModelConfig& config() const { return config_; }
  // Every matrix product reports its input to `observer` (null: none), the
  // attention products Q·Kᵀ and softmax·V included. Calibration only.
  void set_observer(ActivationObserver* observer);
  bool observed() const { return observer_ != nullptr; }
  // Attention in integers (ops/attention_int8.h): on by default when every
  // attention's q, k and v projections are INT8, unless QTOOL_ATTENTION=fp32.
  // FP32 models never use it; calibration (an observer set) attends in FP32.
  bool int8_attention() const { return int8_attention_ && !observer_; }
  void set_int8_attention(bool on) { int8_attention_ = on; }

  EncoderOutput encode(const std::vector<std::vector<int>>& sources) const;
  // One row per sentence; beam search widens it with select_rows().
  DecoderState start_decoding(const EncoderOutput& enc, const std::vector<int64_t>& row_sentence) const;
  // Feeds one token per row at position state.step; writes logits [rows, decoder_vocab].
  void decode_step(DecoderState& state, const std::vector<int>& tokens, std::vector<float>& logits) const;
  // The same step for greedy decoding: best[r] = the first argmax of row r's
  // logits with the `masked` ids left out, without writing the logits.
  void decode_step_argmax(DecoderState& state, const std::vector<int>& tokens, const std::vector<int>& masked,
                          int* best) const;
  // Keeps rows `from[i]` as new row i (beam reordering, dropping finished rows).
  static void select_rows(DecoderState& state, const std::vector<int64_t>& from);

 private:
  // Embedding rows × sqrt(d) + positions, from the FP32 table or the INT8 one.
  void embed(bool decoder, const int* ids, int64_t n, const int64_t* positions, float* out) const;
  void grow_cache(DecoderState& s, int64_t needed) const;
  const float* decoder_output(DecoderState& s, const std::vector<int>& tokens) const;

  // An FP32 embedding: row r, column j at data[r * row_stride + j * col_stride].
  // A tied model reads its rows as the columns of the output projection's Wᵀ, so
  // one copy of the matrix serves both roles.
  struct EmbeddingTable {
    const float* data = nullptr;
    int64_t row_stride = 0, col_stride = 1;
    TensorPtr owner;  // the tensor `data` lies in; null when it is the output projection's
  };

  ModelConfig config_;
  float embed_scale_ = 1.0f;
  EmbeddingTable encoder_embed_, decoder_embed_;  // FP32 embeddings
  std::shared_ptr<const Int8Tensor> encoder_embed_int8_, decoder_embed_int8_;  // when quantized
  std::shared_ptr<const ClusteredBinaryEmbedding> encoder_embed_binary_, decoder_embed_binary_;
  std::vector<EncoderLayer> encoder_;
  std::vector<DecoderLayer> decoder_;
  NormParams encoder_final_norm_, decoder_final_norm_;
  std::unique_ptr<Linear> output_projection_;  // logits = x·Eᵀ + final_logits_bias
  ActivationObserver* observer_ = nullptr;
  bool int8_attention_ = false;
};

}  // namespace qtool::runtime
