// Token frequencies in the model's id space (through the vocabulary module, so
// an OPUS-MT vocab.json maps pieces to ids as the model sees them), for the
// frequency-clustered embeddings. The counts file (JSON, docs/quantize-config.md):
//   {"format": "qtool-token-counts", "version": 1, "vocab_checksum": "crc32:…",
//    "source_lines": n, "target_lines": n, "source": [...], "target": [...]}
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/vocabulary.h"

namespace qtool::quantize {

struct TokenCounts {
  std::string vocab_checksum;           // ties the counts to a vocabulary
  std::vector<int64_t> source, target;  // per model id; </s> once per line
  int64_t source_lines = 0, target_lines = 0;
};

// CRC-32 of the vocabulary's tables (vocab.json, and target_vocab.json when separate).
std::string vocab_checksum(const Vocabulary& vocab);
TokenCounts count_tokens(const Vocabulary& vocab, const std::vector<std::string>& source_lines,
                         const std::vector<std::string>& target_lines);
// Without a corpus: the frequencies the tokenizer was trained with
// (Vocabulary::tokenizer_shares), as counts per 10⁹ tokens and 0 lines. For the
// frequency order of a clustered embedding they agree with a count of the
// training text (the kit's joint vocabulary: 98% of ids in the same of three
// clusters), better than the few hundred lines of a dev set do (76%).
TokenCounts tokenizer_token_counts(const Vocabulary& vocab);
std::string to_json(const TokenCounts& counts);
// Validated: format, version, arrays of non-negative integers; errors name `file` and the field.
TokenCounts parse_token_counts(const std::string& text, const std::string& file);
// Refuses counts taken with another vocabulary, or of the wrong lengths.
void check_token_counts(const TokenCounts& counts, const Vocabulary& vocab, const std::string& file);
// One embedding matrix's counts: "source" (encoder), "target" (decoder, lm_head) or
// "both" (a table shared by encoder and decoder): `rows` entries. Refuses a length other
// than `rows` and a side with no counts at all. Call check_token_counts first for the checksum.
std::vector<int64_t> counts_for(const TokenCounts& counts, const std::string& which, int64_t rows,
                                const std::string& file);

}  // namespace qtool::quantize
