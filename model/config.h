// The hyper-parameters and special ids of a Marian checkpoint, read from its
// config.json (and generation_config.json when present). Every field the runtime
// relies on is read, never assumed; an unsupported value is refused by name.
#pragma once
#include <string>
#include <vector>

namespace qtool {

// The values match runtime::VecAct, which the kernels switch on.
// Hugging Face's ACT2FN names a Marian config can give (activation_function).
enum class Activation {
  relu = 0, silu = 1, gelu = 2, gelu_tanh = 3, quick_gelu = 4, tanh = 5, sigmoid = 6, relu6 = 7,
  leaky_relu = 8, mish = 9
};
const char* activation_name(Activation a);

struct ModelConfig {
  int d_model = 0;
  int encoder_layers = 0, decoder_layers = 0;
  int encoder_heads = 0, decoder_heads = 0;
  int encoder_ffn_dim = 0, decoder_ffn_dim = 0;
  int vocab_size = 0;          // encoder (source) vocabulary rows
  int decoder_vocab_size = 0;  // decoder / output rows
  int max_position_embeddings = 0;
  Activation activation = Activation::silu;
  bool scale_embedding = true;
  bool normalize_before = false;  // pre-norm blocks when true
  bool tie_word_embeddings = true;
  bool share_encoder_decoder_embeddings = true;

  int pad_id = -1, eos_id = -1, decoder_start_id = -1;
  int forced_eos_id = -1;                       // -1: none
  std::vector<std::vector<int>> bad_words_ids;  // never generated (single-token entries)

  // Generation defaults (generation_config.json); the CLI may override.
  int num_beams = 1;
  int max_length = 256;
  double length_penalty = 1.0;
  bool early_stopping = true;

  std::string source_json;             // config.json text as read, carried into packed models
  std::string generation_source_json;  // generation_config.json text (may be empty)

  int head_dim(bool decoder) const {
    return d_model / (decoder ? decoder_heads : encoder_heads);
  }
};

// `config_file` and `generation_file` name the sources in error messages;
// generation_json may be empty.
ModelConfig parse_model_config(const std::string& config_json, const std::string& config_file,
                               const std::string& generation_json = "",
                               const std::string& generation_file = "");

}  // namespace qtool
