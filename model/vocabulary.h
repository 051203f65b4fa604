// The one path between text and model ids, as Hugging Face's MarianTokenizer
// does it: source text → source SentencePiece pieces → ids through vocab.json
// (a missing piece → <unk>) → </s> appended; ids → pieces through the same table
// (or target_vocab.json when separate_vocabs) → target SentencePiece decoding,
// special tokens dropped. The kit's joint layout is the case where the table is
// the identity on SentencePiece's own ids; it takes the same path.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/piece_ids.h"

namespace qtool {

class SentencePieceModel;

// The files a vocabulary is built from, held in memory so a packed model can carry them.
struct VocabularyFiles {
  std::string source_spm, target_spm;  // serialized SentencePiece models
  std::string vocab_json;              // piece → id
  std::string target_vocab_json;       // only with separate_vocabs
  std::string tokenizer_config_json;   // may be empty
  std::string origin;                  // directory or file, for messages

  static VocabularyFiles from_directory(const std::string& dir);
};

// Each tokenizer file: its role (the .qtm header's key), its name in a checkpoint
// directory, and where VocabularyFiles keeps it.
struct TokenizerFile {
  const char* role;
  const char* name;
  std::string VocabularyFiles::*text;
  bool required;
};
inline constexpr TokenizerFile kTokenizerFiles[] = {
    {"source_spm", "source.spm", &VocabularyFiles::source_spm, true},
    {"target_spm", "target.spm", &VocabularyFiles::target_spm, true},
    {"vocab_json", "vocab.json", &VocabularyFiles::vocab_json, true},
    {"target_vocab_json", "target_vocab.json", &VocabularyFiles::target_vocab_json, false},
    {"tokenizer_config_json", "tokenizer_config.json", &VocabularyFiles::tokenizer_config_json, false},
};

// vocab.json's table {piece: id}, ids exactly 0..n-1: the piece of each id.
// `file` names it in messages.
std::vector<std::string> parse_vocab_json(const std::string& text, const std::string& file);

class Vocabulary {
 public:
  // `source_rows` / `target_rows`: embedding rows of the model, which the tables must match.
  Vocabulary(VocabularyFiles files, int source_rows, int target_rows);
  ~Vocabulary();
  Vocabulary(Vocabulary&&) noexcept;

  std::vector<int> encode(const std::string& text) const;   // ids, </s> last
  // Target text → target SentencePiece pieces → ids through the target table
  // (missing piece → <unk>), </s> last: the decoder's ids of a reference.
  std::vector<int> encode_target(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;     // special tokens dropped
  std::vector<std::string> source_pieces(const std::string& text) const;

  // Each id's estimated share of one side's tokens (the source's, or the
  // target's: the decoder's ids), from the SentencePiece model alone
  // (SentencePieceModel::piece_shares): a piece the table lacks counts for
  // <unk>, and </s>, once per sentence, ranks with the most frequent piece.
  std::vector<double> tokenizer_shares(bool target) const;

  int eos_id() const { return eos_id_; }
  int unk_id() const { return unk_id_; }
  int pad_id() const { return pad_id_; }
  size_t source_size() const { return source_ids_.size(); }
  size_t target_size() const { return target_table().size(); }
  bool separate_vocabs() const { return separate_; }
  // The id tables and tokenizer config it was built from (the SentencePiece
  // models live in their SentencePieceModel objects and are not kept here).
  const VocabularyFiles& files() const { return files_; }

 private:
  VocabularyFiles files_;
  // One model serves both sides when the two files are the same bytes (a joint vocabulary).
  std::shared_ptr<const SentencePieceModel> source_sp_, target_sp_;
  const PieceIds& target_table() const { return separate_ ? target_ids_ : source_ids_; }

  PieceIds source_ids_;  // vocab.json: the source side's, and a joint vocabulary's both sides'
  PieceIds target_ids_;  // target_vocab.json, only with separate vocabularies
  std::vector<bool> target_special_;
  int eos_id_ = -1, unk_id_ = -1, pad_id_ = -1;
  int target_eos_id_ = -1, target_unk_id_ = -1;  // the same tokens in the target table
  bool separate_ = false;
};

}  // namespace qtool
