#include "model/sentencepiece_model.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "model/protobuf_wire.h"
#include "model/sentencepiece_utf8.h"
#include "util/error.h"

namespace qtool {
namespace {

// sentencepiece_model.proto's field numbers, for the fields that change what
// Encode and Decode produce. Training options (vocab_size, split_digits,
// unk_id, ...) do not: the model's pieces and their types already say it all.
namespace field {
constexpr uint32_t kPieces = 1, kTrainerSpec = 2, kNormalizerSpec = 3, kDenormalizerSpec = 5;
constexpr uint32_t kPiece = 1, kScore = 2, kType = 3;  // ModelProto.SentencePiece
constexpr uint32_t kModelType = 3, kTreatWhitespaceAsSuffix = 24, kByteFallback = 35,
                   kUnkSurface = 44;  // TrainerSpec
constexpr uint32_t kPrecompiledCharsmap = 2, kAddDummyPrefix = 3, kRemoveExtraWhitespaces = 4,
                   kEscapeWhitespaces = 5;  // NormalizerSpec
}  // namespace field

enum ModelType { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

// " ⁇ ": Decode's <unk> when trainer_spec has no unk_surface.
constexpr std::string_view kDefaultUnkSurface = " \xE2\x81\x87 ";

struct TrainerSpec {
  int model_type = kUnigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  bool has_unk_surface = false;
  std::string_view unk_surface;
};

// What ModelProto says, as views into the file's bytes.
struct ModelProto {
  std::vector<PieceEntry> pieces;
  TrainerSpec trainer;
  NormalizerSpec normalizer, denormalizer;
  bool has_denormalizer = false;
};

// proto2 rules, as protobuf's parser applies them: the last value of a field
// wins, a message that occurs twice is merged, a field with an unexpected
// wire type or an enum value the proto does not define is kept aside as an
// unknown field (the value before it stays).
int32_t as_int32(const protobuf::Field& f) { return static_cast<int32_t>(static_cast<uint32_t>(f.varint)); }

void read_piece(std::string_view bytes, const std::string& file, size_t index, PieceEntry& piece) {
  protobuf::Reader r(bytes, file, "pieces[" + std::to_string(index) + "]");
  for (protobuf::Field f; r.next(f);) {
    if (f.number == field::kPiece && f.type == protobuf::kLengthDelimited) piece.bytes = f.bytes;
    if (f.number == field::kScore && f.type == protobuf::kFixed32)
      piece.score = protobuf::as_float(f.fixed32);
    if (f.number == field::kType && f.type == protobuf::kVarint && as_int32(f) >= 1 && as_int32(f) <= 6)
      piece.type = static_cast<PieceType>(as_int32(f));
  }
}

void read_trainer(std::string_view bytes, const std::string& file, TrainerSpec& t) {
  protobuf::Reader r(bytes, file, "trainer_spec");
  for (protobuf::Field f; r.next(f);) {
    if (f.type == protobuf::kVarint) {
      if (f.number == field::kModelType && as_int32(f) >= kUnigram && as_int32(f) <= kChar)
        t.model_type = as_int32(f);
      if (f.number == field::kByteFallback) t.byte_fallback = f.varint != 0;
      if (f.number == field::kTreatWhitespaceAsSuffix) t.treat_whitespace_as_suffix = f.varint != 0;
    }
    if (f.number == field::kUnkSurface && f.type == protobuf::kLengthDelimited) {
      t.has_unk_surface = true;
      t.unk_surface = f.bytes;
    }
  }
}

void read_normalizer(std::string_view bytes, const std::string& file, const char* name, NormalizerSpec& n) {
  protobuf::Reader r(bytes, file, name);
  for (protobuf::Field f; r.next(f);) {
    if (f.number == field::kPrecompiledCharsmap && f.type == protobuf::kLengthDelimited)
      n.precompiled_charsmap = f.bytes;
    if (f.type != protobuf::kVarint) continue;
    if (f.number == field::kAddDummyPrefix) n.add_dummy_prefix = f.varint != 0;
    if (f.number == field::kRemoveExtraWhitespaces) n.remove_extra_whitespaces = f.varint != 0;
    if (f.number == field::kEscapeWhitespaces) n.escape_whitespaces = f.varint != 0;
  }
}

ModelProto read_model_proto(std::string_view bytes, const std::string& file) {
  ModelProto m;
  protobuf::Reader r(bytes, file, "ModelProto");
  for (protobuf::Field f; r.next(f);) {
    if (f.type != protobuf::kLengthDelimited) continue;
    switch (f.number) {
      case field::kPieces:
        m.pieces.emplace_back();
        read_piece(f.bytes, file, m.pieces.size() - 1, m.pieces.back());
        break;
      case field::kTrainerSpec: read_trainer(f.bytes, file, m.trainer); break;
      case field::kNormalizerSpec: read_normalizer(f.bytes, file, "normalizer_spec", m.normalizer); break;
      case field::kDenormalizerSpec:
        m.has_denormalizer = true;
        read_normalizer(f.bytes, file, "denormalizer_spec", m.denormalizer);
        break;
      default: break;
    }
  }
  return m;
}

// The byte of a byte piece "<0x0A>" (upper-case hex, as ByteToPiece writes it), or -1.
int byte_of_piece(std::string_view piece) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  const int hi = hex(piece[3]), lo = hex(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string byte_piece(unsigned char b) {
  static const char kHex[] = "0123456789ABCDEF";
  return std::string{'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
}

// A file libsentencepiece would not load: one message shape for them all.
[[noreturn]] void refuse(const std::string& file, const std::string& what) {
  fail(file, "not a SentencePiece model: " + what);
}

std::string piece_name(const PieceEntry& p) {
  std::string name = "'";
  name.append(p.bytes).append("'");
  return name;
}

// What libsentencepiece's ModelInterface::InitializePieces refuses, and a NUL
// byte in a piece, which its double-array trie would cut the piece at.
void check_pieces(const ModelProto& m, const std::string& file) {
  if (m.pieces.empty()) refuse(file, "no pieces");
  int unknown = 0;
  std::vector<bool> byte_seen(256, false);
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    const PieceEntry& p = m.pieces[i];
    const std::string where = "pieces[" + std::to_string(i) + "]";
    if (p.bytes.empty()) refuse(file, where + ": empty piece");
    if (p.bytes.find('\0') != std::string_view::npos) refuse(file, where + ": piece holds a NUL byte");
    if (p.type == PieceType::kUnknown && ++unknown > 1) refuse(file, where + ": a second UNKNOWN piece");
    if (p.type == PieceType::kByte) {
      if (!m.trainer.byte_fallback)
        refuse(file, where + ": byte piece " + piece_name(p) + " but trainer_spec.byte_fallback is false");
      const int b = byte_of_piece(p.bytes);
      if (b < 0) refuse(file, where + ": byte piece " + piece_name(p) + " is not <0xXX>");
      byte_seen[b] = true;
    }
  }
  if (unknown == 0) refuse(file, "pieces: no piece of type UNKNOWN");
  if (m.trainer.byte_fallback)
    for (int b = 0; b < 256; ++b)
      if (!byte_seen[b])
        refuse(file,
               "pieces: trainer_spec.byte_fallback is true but byte piece " + byte_piece(b) + " is missing");
}

}  // namespace

SentencePieceModel::SentencePieceModel(std::string_view bytes, const std::string& file) {
  if (bytes.size() > UINT32_MAX) refuse(file, "larger than 4 GiB");
  const ModelProto m = read_model_proto(bytes, file);
  if (m.trainer.model_type == kWord || m.trainer.model_type == kChar)
    fail(file, std::string("trainer_spec.model_type: ") + (m.trainer.model_type == kWord ? "WORD" : "CHAR") +
                   " models are not supported, only UNIGRAM and BPE");
  algorithm_ = m.trainer.model_type == kBpe ? Algorithm::kBpe : Algorithm::kUnigram;
  check_pieces(m, file);
  pieces_ = PieceTable(m.pieces);
  if (const int id = pieces_.duplicate_id(); id != PieceTable::kNone)
    refuse(file, "pieces[" + std::to_string(id) + "]: " + piece_name(m.pieces[id]) + " is already defined");
  bool any_normal = false;
  min_score_ = FLT_MAX;
  max_score_ = FLT_MIN;  // (the smallest positive float, as the library starts it)
  for (uint32_t rank = 0; rank < pieces_.size(); ++rank) {
    if (pieces_.type(rank) == PieceType::kUnknown) unk_rank_ = static_cast<int>(rank);
    if (!is_reserved(pieces_.type(rank))) any_normal = true;
    if (pieces_.type(rank) == PieceType::kNormal) {
      min_score_ = std::min(min_score_, pieces_.score(rank));
      max_score_ = std::max(max_score_, pieces_.score(rank));
    }
  }
  if (algorithm_ == Algorithm::kUnigram && !any_normal)
    refuse(file, "pieces: no NORMAL, USER_DEFINED or UNUSED piece to segment with");

  const std::string_view space = spm_utf8::kSpaceSymbol;
  space_path_[0] = pieces_.first(static_cast<unsigned char>(space[0]));
  for (size_t depth = 1; depth < space.size(); ++depth)
    space_path_[depth] =
        pieces_.narrow(space_path_[depth - 1], depth, static_cast<unsigned char>(space[depth]));

  byte_fallback_ = m.trainer.byte_fallback;
  // Decode copies unk_surface as a C string: up to its first NUL.
  const std::string_view surface = m.trainer.has_unk_surface ? m.trainer.unk_surface : kDefaultUnkSurface;
  unk_surface_ = std::string(surface.substr(0, surface.find('\0')));
  strip_leading_space_ = m.normalizer.add_dummy_prefix || m.normalizer.remove_extra_whitespaces;
  keep_stripping_ = m.normalizer.remove_extra_whitespaces;
  normalizer_ = SentencePieceNormalizer(m.normalizer, m.trainer.treat_whitespace_as_suffix, file,
                                        "normalizer_spec.precompiled_charsmap");
  has_denormalizer_ = m.has_denormalizer && !m.denormalizer.precompiled_charsmap.empty();
  if (has_denormalizer_)
    denormalizer_ =
        SentencePieceNormalizer(m.denormalizer, false, file, "denormalizer_spec.precompiled_charsmap");
}

int SentencePieceModel::lookup(std::string_view piece) const {
  if (const int r = pieces_.find_reserved(piece); r != PieceTable::kNone) return r;
  if (const int r = pieces_.find_normal(piece); r != PieceTable::kNone) return r;
  return unk_rank_;
}

int SentencePieceModel::piece_to_id(std::string_view piece) const { return pieces_.id(lookup(piece)); }

std::vector<std::string> SentencePieceModel::encode(std::string_view text) const {
  const std::string normalized = normalizer_.normalize(text, &pieces_);
  const std::vector<Segment> segments =
      algorithm_ == Algorithm::kUnigram ? encode_unigram(normalized) : encode_bpe(normalized);
  // SentencePieceProcessor::PopulateSentencePieceText, pieces only.
  std::vector<std::string> out;
  out.reserve(segments.size());
  size_t consumed = 0;
  bool previous_unknown = false;
  for (const Segment& s : segments) {
    const PieceType type = pieces_.type(s.rank);
    const bool unknown = type == PieceType::kUnknown;
    if (type == PieceType::kControl) {
      out.emplace_back(s.bytes);  // takes no text: the length check below then fails
    } else {
      if (unknown && byte_fallback_) {
        for (const char b : s.bytes) out.push_back(byte_piece(static_cast<unsigned char>(b)));
      } else if (unknown && previous_unknown) {
        out.back() += s.bytes;  // a run of unknown characters is one piece
      } else {
        out.emplace_back(s.bytes);
      }
      consumed += s.bytes.size();
    }
    previous_unknown = unknown;
  }
  if (consumed != normalized.size()) return {};  // the library's error status, pieces left empty
  return out;
}

std::string SentencePieceModel::decode(const std::vector<std::string>& pieces) const {
  std::string text;
  // Byte pieces [begin, end) as UTF-8: each character that decodes, U+FFFD for each byte that does not.
  auto append_bytes = [&](size_t begin, size_t end) {
    std::string bytes;
    for (size_t i = begin; i < end; ++i) bytes += static_cast<char>(byte_of_piece(pieces[i]));
    for (std::string_view rest = bytes; !rest.empty();) {
      const size_t n = spm_utf8::decodable_length(rest);
      text += n ? rest.substr(0, n) : spm_utf8::kReplacement;
      rest.remove_prefix(n ? n : 1);
    }
  };
  size_t byte_start = 0;
  bool at_start = true;          // a leading "▁" may still be dropped
  bool dropped_leading = false;  // the previous piece's leading "▁" was
  for (size_t i = 0; i < pieces.size(); ++i) {
    const int rank = lookup(pieces[i]);
    const PieceType type = pieces_.type(rank);
    if (type == PieceType::kByte) continue;
    append_bytes(byte_start, i);
    byte_start = i + 1;
    if (dropped_leading || !text.empty()) at_start = false;
    dropped_leading = false;
    std::string_view piece = pieces[i];
    if (type == PieceType::kControl) continue;  // <s>, </s>: no text
    if (type == PieceType::kUnknown) {
      // <unk> itself as unk_surface; a piece the model lacks verbatim, "▁" kept.
      text += piece == pieces_.bytes(unk_rank_) ? std::string_view(unk_surface_) : piece;
      continue;
    }
    if (at_start && strip_leading_space_ && piece.starts_with(spm_utf8::kSpaceSymbol)) {
      piece.remove_prefix(spm_utf8::kSpaceSymbol.size());
      // With remove_extra_whitespaces every piece's leading "▁" goes until the text starts.
      dropped_leading = !keep_stripping_;
    }
    for (size_t at = 0; at < piece.size();) {
      if (piece.substr(at).starts_with(spm_utf8::kSpaceSymbol)) {
        text += ' ';
        at += spm_utf8::kSpaceSymbol.size();
      } else {
        text += piece[at++];
      }
    }
  }
  append_bytes(byte_start, pieces.size());
  if (has_denormalizer_) text = denormalizer_.normalize(text, nullptr);
  return text;
}

std::vector<std::pair<std::string_view, double>> SentencePieceModel::piece_shares() const {
  std::vector<std::pair<std::string_view, double>> shares;
  for (size_t rank = 0; rank < pieces_.size(); ++rank)
    if (pieces_.type(int(rank)) == PieceType::kNormal)
      shares.emplace_back(pieces_.bytes(int(rank)), double(pieces_.score(int(rank))));
  if (algorithm_ == Algorithm::kBpe) {  // scores are −(merge index): higher is earlier
    std::stable_sort(shares.begin(), shares.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (size_t r = 0; r < shares.size(); ++r) shares[r].second = 1.0 / double(r + 1);
  } else {
    for (auto& s : shares) s.second = std::exp(s.second);
  }
  double total = 0.0;
  for (const auto& s : shares) total += s.second;
  if (total > 0.0)
    for (auto& s : shares) s.second /= total;
  return shares;
}

size_t SentencePieceModel::memory_bytes() const {
  return sizeof(*this) - sizeof(pieces_) - 2 * sizeof(normalizer_) + pieces_.memory_bytes() +
         normalizer_.memory_bytes() + denormalizer_.memory_bytes() + unk_surface_.capacity();
}

}  // namespace qtool
