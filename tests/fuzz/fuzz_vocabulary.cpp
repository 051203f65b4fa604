// vocab.json, tokenizer_config.json and target_vocab.json (three parts split at
// NUL bytes) through the Vocabulary constructor, which reads all three before
// it loads the SentencePiece models. Those are left empty here: their reader
// has a harness of its own (fuzz_sentencepiece), so every input that passes the
// tables ends in the clear "not a SentencePiece model" refusal.
#include "model/vocabulary.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = qtool::fuzz::split_parts(data, size, 3);
  qtool::VocabularyFiles files;
  files.origin = "m";
  files.vocab_json = parts[0];
  files.tokenizer_config_json = parts[1];
  files.target_vocab_json = parts[2];
  // The table sizes as the model would have them, so the constructor gets past
  // its row checks to the special tokens.
  int rows = 1;
  qtool::fuzz::expect_clean("m/vocab.json: ", [&] {
    rows = int(qtool::parse_vocab_json(parts[0], "m/vocab.json").size());
  });
  int target_rows = rows;
  if (!parts[2].empty())
    qtool::fuzz::expect_clean("m/target_vocab.json: ", [&] {
      target_rows = int(qtool::parse_vocab_json(parts[2], "m/target_vocab.json").size());
    });
  qtool::fuzz::expect_clean("m/", [&] { qtool::Vocabulary v(files, rows, target_rows); });
  return 0;
}
