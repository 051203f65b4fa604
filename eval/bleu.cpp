#include "eval/bleu.h"

#include <cmath>
#include <cstdio>
#include <string_view>
#include <unordered_map>

#include "util/error.h"

namespace qtool::eval {
namespace {

std::vector<std::string_view> split_tokens(const std::string& s) {
  std::vector<std::string_view> t;
  for (size_t i = 0; i < s.size();) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) t.emplace_back(s.data() + i, j - i);
    i = j + 1;
  }
  return t;
}

// Every n-gram of order n as one key (tokens hold no spaces, so ' ' separates).
std::unordered_map<std::string, int> ngram_counts(const std::vector<std::string_view>& tok, size_t n) {
  std::unordered_map<std::string, int> counts;
  for (size_t i = 0; i + n <= tok.size(); ++i) {
    std::string key(tok[i]);
    for (size_t k = 1; k < n; ++k) (key += ' ') += tok[i + k];
    ++counts[key];
  }
  return counts;
}

}  // namespace

std::string BleuScore::line() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)",
                score, precisions[0], precisions[1], precisions[2], precisions[3], bp, ratio,
                static_cast<long long>(hyp_len), static_cast<long long>(ref_len));
  return buf;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs) {
  if (hyps.size() != refs.size())
    throw Error("BLEU: " + std::to_string(hyps.size()) + " hypotheses but " +
                std::to_string(refs.size()) + " references");
  BleuScore s;
  for (size_t i = 0; i < hyps.size(); ++i) {
    const std::string h = tokenize_13a(hyps[i]), r = tokenize_13a(refs[i]);
    const auto ht = split_tokens(h), rt = split_tokens(r);
    s.hyp_len += static_cast<int64_t>(ht.size());
    s.ref_len += static_cast<int64_t>(rt.size());
    for (size_t n = 1; n <= 4; ++n) {
      auto hc = ngram_counts(ht, n), rc = ngram_counts(rt, n);
      for (const auto& [g, c] : hc) {
        auto it = rc.find(g);
        if (it != rc.end()) s.counts[n - 1] += std::min(c, it->second);  // clipped
      }
      s.totals[n - 1] += ht.size() >= n ? static_cast<int64_t>(ht.size() - n + 1) : 0;
    }
  }
  if (s.hyp_len < s.ref_len)
    s.bp = s.hyp_len > 0 ? std::exp(1.0 - double(s.ref_len) / double(s.hyp_len)) : 0.0;
  else
    s.bp = 1.0;
  s.ratio = s.ref_len > 0 ? double(s.hyp_len) / double(s.ref_len) : 0.0;
  // No match at all: score and precisions 0, as sacreBLEU stops early (its #141).
  if (s.counts[0] == 0) return s;
  // 'exp' smoothing: the k-th order with no match gets 100 / (2^k · total).
  double smooth = 1.0;
  for (int n = 0; n < 4; ++n) {
    if (s.totals[n] == 0) break;
    if (s.counts[n] == 0) {
      smooth *= 2;
      s.precisions[n] = 100.0 / (smooth * s.totals[n]);
    } else {
      s.precisions[n] = 100.0 * s.counts[n] / s.totals[n];
    }
  }
  double log_sum = 0;
  for (double p : s.precisions) log_sum += p == 0 ? -9999999999.0 : std::log(p);
  s.score = s.bp * std::exp(log_sum / 4);
  return s;
}

}  // namespace qtool::eval
