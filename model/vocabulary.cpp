#include "model/vocabulary.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/sentencepiece_model.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool {
using nlohmann::json;
namespace fs = std::filesystem;

VocabularyFiles VocabularyFiles::from_directory(const std::string& dir) {
  VocabularyFiles f;
  f.origin = dir;
  f.source_spm = read_text_file(dir + "/source.spm");
  f.target_spm = read_text_file(dir + "/target.spm");
  f.vocab_json = read_text_file(dir + "/vocab.json");
  if (fs::exists(dir + "/tokenizer_config.json"))
    f.tokenizer_config_json = read_text_file(dir + "/tokenizer_config.json");
  if (fs::exists(dir + "/target_vocab.json"))
    f.target_vocab_json = read_text_file(dir + "/target_vocab.json");
  return f;
}

std::vector<std::string> parse_vocab_json(const std::string& text, const std::string& file) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
    fail(file, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || j.empty()) fail(file, "must be a non-empty JSON object {piece: id}");
  std::vector<std::string> piece_of(j.size());
  std::vector<bool> seen(j.size(), false);
  for (const auto& [piece, id] : j.items()) {
    if (!id.is_number_integer())
      fail(file, "entry '" + piece + "' must map to an integer id, got " + id.dump());
    long long i = id.get<long long>();
    if (i < 0 || i >= static_cast<long long>(j.size()))
      fail(file, "entry '" + piece + "' has id " + std::to_string(i) + "; ids must be 0.." +
                     std::to_string(j.size() - 1) + " without gaps");
    if (seen[i]) fail(file, "id " + std::to_string(i) + " is used twice (second: '" + piece + "')");
    seen[i] = true;
    piece_of[i] = piece;
  }
  return piece_of;
}

namespace {

std::string token_name(const json& cfg, const char* key, const char* fallback) {
  if (cfg.contains(key) && cfg.at(key).is_string()) return cfg.at(key).get<std::string>();
  return fallback;
}

int find_special(const PieceIds& table, const std::string& token, const std::string& file) {
  const int id = table.find(token);
  if (id < 0) fail(file, "special token '" + token + "' is missing");
  return id;
}

// Pieces → ids through one table (a missing piece → `unk`), then `eos`: the one
// lookup both sides share.
std::vector<int> ids_through(const std::vector<std::string>& pieces, const PieceIds& table, int unk,
                             int eos) {
  std::vector<int> ids;
  ids.reserve(pieces.size() + 1);
  for (const std::string& piece : pieces) {
    const int id = table.find(piece);
    ids.push_back(id < 0 ? unk : id);
  }
  ids.push_back(eos);
  return ids;
}

}  // namespace

Vocabulary::Vocabulary(VocabularyFiles files_in, int source_rows, int target_rows)
    : files_(std::move(files_in)) {
  const VocabularyFiles& files = files_;
  const std::string& dir = files.origin;
  json tok_cfg = json::object();
  if (!files.tokenizer_config_json.empty()) {
    try {
      tok_cfg = json::parse(files.tokenizer_config_json);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e999
      fail(dir + "/tokenizer_config.json", std::string("not valid JSON: ") + e.what());
    }
    if (!tok_cfg.is_object()) fail(dir + "/tokenizer_config.json", "must be a JSON object");
  }
  if (tok_cfg.contains("separate_vocabs") && !tok_cfg["separate_vocabs"].is_boolean())
    fail(dir + "/tokenizer_config.json",
         "field 'separate_vocabs' must be true or false, got " + tok_cfg["separate_vocabs"].dump());
  separate_ = tok_cfg.value("separate_vocabs", false);
  if (separate_ && files.target_vocab_json.empty())
    fail(dir + "/target_vocab.json", "missing, but tokenizer_config.json says separate_vocabs");

  const std::string target_file = dir + (separate_ ? "/target_vocab.json" : "/vocab.json");
  {
    const std::vector<std::string> source_piece_of = parse_vocab_json(files.vocab_json, dir + "/vocab.json");
    if (static_cast<int>(source_piece_of.size()) != source_rows)
      fail(dir + "/vocab.json", "has " + std::to_string(source_piece_of.size()) +
                                    " entries but the model's embedding has " +
                                    std::to_string(source_rows) + " rows");
    source_ids_ = PieceIds(source_piece_of, dir + "/vocab.json");
  }
  // One table serves both sides of a joint vocabulary.
  if (separate_)
    target_ids_ = PieceIds(parse_vocab_json(files.target_vocab_json, target_file), target_file);
  if (static_cast<int>(target_table().size()) != target_rows)
    fail(target_file, "has " + std::to_string(target_table().size()) +
                          " entries but the model's output layer has " +
                          std::to_string(target_rows) + " rows");

  const std::string eos = token_name(tok_cfg, "eos_token", "</s>");
  const std::string unk = token_name(tok_cfg, "unk_token", "<unk>");
  const std::string pad = token_name(tok_cfg, "pad_token", "<pad>");
  eos_id_ = find_special(source_ids_, eos, dir + "/vocab.json");
  unk_id_ = find_special(source_ids_, unk, dir + "/vocab.json");
  pad_id_ = find_special(source_ids_, pad, dir + "/vocab.json");
  // Decoding drops every special token, as skip_special_tokens=True does.
  target_special_.assign(target_table().size(), false);
  for (const std::string& t : {eos, unk, pad})
    target_special_[find_special(target_table(), t, target_file)] = true;
  // With separate_vocabs the decoder's ids are the target table's, specials included.
  target_eos_id_ = find_special(target_table(), eos, target_file);
  target_unk_id_ = find_special(target_table(), unk, target_file);

  source_sp_ = std::make_shared<const SentencePieceModel>(files.source_spm, dir + "/source.spm");
  target_sp_ = files.target_spm == files.source_spm
                   ? source_sp_
                   : std::make_shared<const SentencePieceModel>(files.target_spm, dir + "/target.spm");
  // The SentencePiece models are parsed now; keep only the tables.
  files_.source_spm.clear();
  files_.source_spm.shrink_to_fit();
  files_.target_spm.clear();
  files_.target_spm.shrink_to_fit();
}

Vocabulary::~Vocabulary() = default;
Vocabulary::Vocabulary(Vocabulary&&) noexcept = default;

std::vector<std::string> Vocabulary::source_pieces(const std::string& text) const {
  std::vector<std::string> pieces;
  // A leading language code such as ">>deu<<" is one token, not SentencePiece text.
  std::string rest = text;
  if (rest.rfind(">>", 0) == 0) {
    size_t end = rest.rfind("<<");
    if (end != std::string::npos && end > 2) {
      pieces.push_back(rest.substr(0, end + 2));
      rest = rest.substr(end + 2);
    }
  }
  std::vector<std::string> sp_pieces = source_sp_->encode(rest);
  pieces.insert(pieces.end(), std::make_move_iterator(sp_pieces.begin()),
                std::make_move_iterator(sp_pieces.end()));
  return pieces;
}

std::vector<int> Vocabulary::encode(const std::string& text) const {
  return ids_through(source_pieces(text), source_ids_, unk_id_, eos_id_);
}

std::vector<int> Vocabulary::encode_target(const std::string& text) const {
  const std::vector<std::string> pieces = target_sp_->encode(text);
  return ids_through(pieces, target_table(), target_unk_id_, target_eos_id_);
}

std::vector<double> Vocabulary::tokenizer_shares(bool target) const {
  const PieceIds& table = target ? target_table() : source_ids_;
  const int unk = target ? target_unk_id_ : unk_id_, eos = target ? target_eos_id_ : eos_id_;
  std::vector<double> shares(table.size(), 0.0);
  for (const auto& [piece, share] : (target ? target_sp_ : source_sp_)->piece_shares()) {
    const int id = table.find(piece);
    shares[id >= 0 ? id : unk] += share;
  }
  shares[eos] = *std::max_element(shares.begin(), shares.end());
  return shares;
}

std::string Vocabulary::decode(const std::vector<int>& ids) const {
  std::vector<std::string> pieces;
  for (int id : ids) {
    if (id < 0 || id >= static_cast<int>(target_table().size()) || target_special_[id]) continue;
    pieces.emplace_back(target_table().piece(id));
  }
  std::string text = target_sp_->decode(pieces);
  // A piece the SentencePiece model does not have (vocab.json is often joint: a
  // source-side piece) comes out verbatim. Its "▁" becomes a space, as
  // transformers' MarianTokenizer does, and at the start of the text it is
  // dropped, as SentencePiece drops its own first "▁". (MarianTokenizer also
  // strips the text; the kit's references, SentencePiece's decoding, do not.)
  static const std::string kSpaceMark = "\xe2\x96\x81";  // U+2581
  const bool leading = text.compare(0, kSpaceMark.size(), kSpaceMark) == 0;
  for (size_t at = text.find(kSpaceMark); at != std::string::npos; at = text.find(kSpaceMark, at + 1))
    text.replace(at, kSpaceMark.size(), " ");
  if (leading) text.erase(0, 1);
  return text;
}

}  // namespace qtool
