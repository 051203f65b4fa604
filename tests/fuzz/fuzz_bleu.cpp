// The 13a tokenizer on raw bytes, and corpus BLEU on hypotheses and references
// (two parts split at a NUL byte, lines split at '\n', as read from files).
#include <cmath>
#include <string>
#include <vector>

#include "eval/bleu.h"
#include "tests/fuzz/fuzz_util.h"

namespace {
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using qtool::fuzz::require;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const std::string tokens = qtool::eval::tokenize_13a(raw);
  require(tokens.empty() || (tokens.front() != ' ' && tokens.back() != ' '), "tokens joined by single spaces");
  require(tokens.find("  ") == std::string::npos, "no empty tokens");

  const auto parts = qtool::fuzz::split_parts(data, size, 2);
  const std::vector<std::string> hyps = lines(parts[0]), refs = lines(parts[1]);
  qtool::fuzz::expect_clean("BLEU: ", [&] {
    const qtool::eval::BleuScore s = qtool::eval::corpus_bleu(hyps, refs);
    require(std::isfinite(s.score) && s.score >= 0 && s.score <= 100 + 1e-9, "score in [0, 100]");
    require(s.bp >= 0 && s.bp <= 1, "brevity penalty in [0, 1]");
    for (int n = 0; n < 4; ++n) require(s.counts[n] <= s.totals[n], "matches never exceed n-grams");
    (void)s.line();
  });
  // A corpus scored against itself matches every n-gram: 100 whenever it has
  // n-grams of every order.
  const qtool::eval::BleuScore self = qtool::eval::corpus_bleu(hyps, hyps);
  if (self.totals[3] > 0) require(std::fabs(self.score - 100) < 1e-9, "a corpus against itself scores 100");
  return 0;
}
