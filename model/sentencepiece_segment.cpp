// The two segmentations of a normalized text, as libsentencepiece 0.1.97 runs
// them: the unigram model's Viterbi search (unigram_model.cc, EncodeOptimized)
// and BPE's merges (bpe_model.cc). Scores are compared with the same float and
// double arithmetic as there, so ties break the same way.
#include <algorithm>
#include <queue>

#include "model/sentencepiece_model.h"
#include "model/sentencepiece_utf8.h"

namespace qtool {
namespace {
constexpr float kUnkPenalty = 10.0f;  // an unknown character scores min_score - 10
}

std::vector<SentencePieceModel::Segment> SentencePieceModel::encode_unigram(
    std::string_view normalized) const {
  if (normalized.empty()) return {};
  // The best path that ends at each byte: its score, its last piece and where that starts.
  struct Best {
    int rank = PieceTable::kNone;
    float score = 0;
    int start = -1;  // -1: no path ends here yet
  };
  const size_t size = normalized.size();
  const float unk_score = min_score_ - kUnkPenalty;
  std::vector<Best> best(size + 1);
  for (size_t start = 0; start < size;) {
    const float score_so_far = best[start].score;
    const size_t char_length =
        std::min(spm_utf8::char_length(static_cast<unsigned char>(normalized[start])), size - start);
    bool has_single_char_piece = false;
    // Every normal piece that the text at `start` begins with, shortest first.
    const bool at_space =
        normalized.compare(start, spm_utf8::kSpaceSymbol.size(), spm_utf8::kSpaceSymbol) == 0;
    PieceTable::Range r = pieces_.first(static_cast<unsigned char>(normalized[start]));
    for (size_t length = 1; !r.empty(); ++length) {
      const int rank = pieces_.normal_of_length(r, length);
      if (rank != PieceTable::kNone && pieces_.type(rank) != PieceType::kUnused) {
        // A user-defined symbol always wins: length × the best score, less 0.1 (double).
        const double score = pieces_.type(rank) == PieceType::kUserDefined
                                 ? static_cast<float>(length) * max_score_ - 0.1
                                 : pieces_.score(rank);
        const double candidate = score + score_so_far;
        Best& end = best[start + length];
        if (end.start == -1 || candidate > end.score) end = {rank, static_cast<float>(candidate), int(start)};
        if (length == char_length) has_single_char_piece = true;
      }
      if (start + length >= size) break;
      r = at_space && length < space_path_.size()
              ? space_path_[length]
              : pieces_.narrow(r, length, static_cast<unsigned char>(normalized[start + length]));
    }
    if (!has_single_char_piece) {  // the character alone, as <unk>
      const float candidate = unk_score + score_so_far;
      Best& end = best[start + char_length];
      if (end.start == -1 || candidate > end.score) end = {unk_rank_, candidate, int(start)};
    }
    start += char_length;
  }
  std::vector<Segment> out;
  for (size_t end = size; end > 0;) {
    const Best& b = best[end];
    if (b.start < 0) return {};  // (every character start is reached; kept for safety)
    out.push_back({normalized.substr(b.start, end - b.start), b.rank});
    end = static_cast<size_t>(b.start);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<SentencePieceModel::Segment> SentencePieceModel::encode_bpe(std::string_view normalized) const {
  if (normalized.empty()) return {};
  struct Symbol {
    int prev, next;  // neighbours in the list, -1 at the ends
    bool frozen;     // a user-defined symbol: never merged
    std::string_view bytes;
  };
  struct Pair {  // a candidate merge of symbols left and right into one piece
    int left, right;
    float score;
    size_t size;  // bytes of the merged piece; a mismatch later marks the pair stale
  };
  // Highest score first; on equal scores, the leftmost pair.
  auto lower = [](const Pair& a, const Pair& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(lower)> agenda(lower);
  std::vector<Symbol> symbols;
  symbols.reserve(normalized.size());
  // UNUSED pieces a merge made, with the two parts they are split back into;
  // the last merge of the same bytes wins, as in the library's map.
  std::vector<std::pair<std::string_view, std::pair<std::string_view, std::string_view>>> unmerge;

  auto add_pair = [&](int left, int right) {
    if (left == -1 || right == -1 || symbols[left].frozen || symbols[right].frozen) return;
    const std::string_view merged(symbols[left].bytes.data(),
                                  symbols[left].bytes.size() + symbols[right].bytes.size());
    const int rank = pieces_.find_normal(merged);
    if (rank == PieceTable::kNone) return;
    agenda.push({left, right, pieces_.score(rank), merged.size()});
    if (pieces_.type(rank) == PieceType::kUnused) {
      const std::pair<std::string_view, std::string_view> parts(symbols[left].bytes, symbols[right].bytes);
      auto it =
          std::find_if(unmerge.begin(), unmerge.end(), [&](const auto& u) { return u.first == merged; });
      if (it == unmerge.end())
        unmerge.push_back({merged, parts});
      else
        it->second = parts;
    }
  };

  // One symbol per character, or per user-defined symbol.
  for (std::string_view rest = normalized; !rest.empty();) {
    size_t n = pieces_.longest_user_defined_prefix(rest);
    const bool frozen = n > 0;
    if (!frozen) n = std::min(rest.size(), spm_utf8::char_length(static_cast<unsigned char>(rest[0])));
    const int index = static_cast<int>(symbols.size());
    rest.remove_prefix(n);
    symbols.push_back(
        {index - 1, rest.empty() ? -1 : index + 1, frozen, std::string_view(rest.data() - n, n)});
  }
  for (size_t i = 1; i < symbols.size(); ++i) add_pair(int(i) - 1, int(i));

  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.bytes.empty() || right.bytes.empty() || left.bytes.size() + right.bytes.size() != top.size)
      continue;  // stale: one side was merged since
    left.bytes = std::string_view(left.bytes.data(), top.size);
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    right.bytes = {};
    add_pair(left.prev, top.left);
    add_pair(top.left, left.next);
  }

  // Each symbol as the piece lookup finds, an UNUSED piece split back into its parts.
  std::vector<Segment> out;
  auto resegment = [&](auto& self, std::string_view bytes) -> void {
    const int rank = lookup(bytes);
    if (pieces_.type(rank) == PieceType::kUnused) {
      auto it = std::find_if(unmerge.begin(), unmerge.end(), [&](const auto& u) { return u.first == bytes; });
      if (it != unmerge.end()) {
        self(self, it->second.first);
        self(self, it->second.second);
        return;
      }
    }
    out.push_back({bytes, rank});
  };
  for (int i = 0; i != -1; i = symbols[i].next) resegment(resegment, symbols[i].bytes);
  return out;
}

}  // namespace qtool
