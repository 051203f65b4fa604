// config.json and generation_config.json (two parts, split at a NUL byte)
// through parse_model_config, as a checkpoint directory is read.
#include "model/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = qtool::fuzz::split_parts(data, size, 2);
  // Both files in one message prefix: "config.json" names either.
  qtool::fuzz::expect_clean("config.json: ", [&] {
    const qtool::ModelConfig c = qtool::parse_model_config(parts[0], "config.json", parts[1], "config.json");
    qtool::fuzz::require(c.d_model % c.encoder_heads == 0 && c.d_model % c.decoder_heads == 0, "heads divide d_model");
    qtool::fuzz::require(c.eos_id >= 0 && c.eos_id < c.decoder_vocab_size, "eos inside the vocabulary");
    for (const auto& seq : c.bad_words_ids)
      for (int id : seq) qtool::fuzz::require(id >= 0 && id < c.decoder_vocab_size, "bad_words_ids inside the vocabulary");
  });
  return 0;
}
