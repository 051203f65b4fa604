// Corpus BLEU exactly as sacreBLEU 2.x computes it with its defaults: the 13a
// tokenizer (mteval-v13a's rules), 4-gram precision with clipping, 'exp'
// smoothing, brevity penalty, one reference per segment, and its printed line.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace qtool::eval {

// sacreBLEU's Tokenizer13a on one line (trailing whitespace stripped first, as BLEU does).
std::string tokenize_13a(const std::string& line);

struct BleuScore {
  double score = 0, bp = 0, ratio = 0;
  std::array<double, 4> precisions{};
  int64_t hyp_len = 0, ref_len = 0;
  std::array<int64_t, 4> counts{}, totals{};
  // "BLEU = 28.65 56.3/33.1/22.9/16.3 (BP = 0.992 ratio = 0.992 hyp_len = 15361 ref_len = 15487)"
  std::string line() const;
};

// Throws qtool::Error when the two lists differ in length.
BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs);

}  // namespace qtool::eval
