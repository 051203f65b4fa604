#include "quantize/token_counts.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "util/crc32.h"
#include "util/error.h"
#include "util/json.h"

namespace qtool::quantize {
using nlohmann::json;

std::string vocab_checksum(const Vocabulary& vocab) {
  const VocabularyFiles& f = vocab.files();
  const std::string tables = f.vocab_json + "\n" + f.target_vocab_json;
  char buf[32];
  std::snprintf(buf, sizeof buf, "crc32:%08x", crc32(reinterpret_cast<const uint8_t*>(tables.data()), tables.size()));
  return buf;
}

namespace {

std::vector<int64_t> count(const std::vector<std::string>& lines, size_t size,
                           const std::function<std::vector<int>(const std::string&)>& encode) {
  std::vector<int64_t> total(size, 0);
#pragma omp parallel
  {
    std::vector<int64_t> mine(size, 0);
#pragma omp for schedule(dynamic, 256)
    for (size_t i = 0; i < lines.size(); ++i)
      for (int id : encode(lines[i]))
        if (id >= 0 && size_t(id) < size) ++mine[id];
#pragma omp critical(qtool_token_counts)
    for (size_t i = 0; i < size; ++i) total[i] += mine[i];
  }
  return total;
}

std::vector<int64_t> counts_array(const json& j, const char* key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_array()) fail(file, std::string(key) + ": must be a list of counts");
  std::vector<int64_t> v;
  v.reserve(j[key].size());
  for (size_t i = 0; i < j[key].size(); ++i) {
    const json& c = j[key][i];
    if (!c.is_number_integer() || c.get<int64_t>() < 0)
      fail(file, std::string(key) + "[" + std::to_string(i) + "]: " + c.dump() + " is not a non-negative integer");
    v.push_back(c.get<int64_t>());
  }
  return v;
}

}  // namespace

TokenCounts count_tokens(const Vocabulary& vocab, const std::vector<std::string>& source_lines,
                         const std::vector<std::string>& target_lines) {
  TokenCounts c;
  c.vocab_checksum = vocab_checksum(vocab);
  c.source = count(source_lines, vocab.source_size(), [&](const std::string& s) { return vocab.encode(s); });
  c.target = count(target_lines, vocab.target_size(), [&](const std::string& s) { return vocab.encode_target(s); });
  c.source_lines = static_cast<int64_t>(source_lines.size());
  c.target_lines = static_cast<int64_t>(target_lines.size());
  return c;
}

TokenCounts tokenizer_token_counts(const Vocabulary& vocab) {
  const auto per_billion = [](const std::vector<double>& shares) {
    std::vector<int64_t> c(shares.size());
    for (size_t i = 0; i < shares.size(); ++i) c[i] = std::llround(shares[i] * 1e9);
    return c;
  };
  TokenCounts c;
  c.vocab_checksum = vocab_checksum(vocab);
  c.source = per_billion(vocab.tokenizer_shares(false));
  c.target = per_billion(vocab.tokenizer_shares(true));
  return c;
}

std::string to_json(const TokenCounts& c) {
  // One line per field: the arrays are long, and diffs stay readable.
  std::string out = "{\"format\": \"qtool-token-counts\", \"version\": 1,\n";
  out += "\"vocab_checksum\": " + json(c.vocab_checksum).dump() + ",\n";
  out += "\"source_lines\": " + std::to_string(c.source_lines) + ", \"target_lines\": " + std::to_string(c.target_lines) + ",\n";
  out += "\"source\": " + json(c.source).dump() + ",\n";
  out += "\"target\": " + json(c.target).dump() + "}\n";
  return out;
}

TokenCounts parse_token_counts(const std::string& text, const std::string& file) {
  const json j = parse_json_object(text, file);
  if (!j.contains("format") || j["format"] != "qtool-token-counts") fail(file, "format: must be \"qtool-token-counts\"");
  if (!j.contains("version") || j["version"] != 1) fail(file, "version: must be 1");
  if (!j.contains("vocab_checksum") || !j["vocab_checksum"].is_string()) fail(file, "vocab_checksum: must be a string");
  TokenCounts c;
  c.vocab_checksum = j["vocab_checksum"];
  c.source = counts_array(j, "source", file);
  c.target = counts_array(j, "target", file);
  for (const char* k : {"source_lines", "target_lines"})
    if (j.contains(k) && (!j[k].is_number_integer() || j[k].get<int64_t>() < 0))
      fail(file, std::string(k) + ": must be a non-negative integer");
  c.source_lines = j.value("source_lines", int64_t(0));
  c.target_lines = j.value("target_lines", int64_t(0));
  return c;
}

void check_token_counts(const TokenCounts& c, const Vocabulary& vocab, const std::string& file) {
  const std::string sum = vocab_checksum(vocab);
  if (c.vocab_checksum != sum)
    fail(file, "vocab_checksum: " + c.vocab_checksum + " is another vocabulary's (this model's is " + sum +
                   "); count with qtool count-tokens --model for this model");
  if (c.source.size() != vocab.source_size())
    fail(file, "source: " + std::to_string(c.source.size()) + " counts for " + std::to_string(vocab.source_size()) + " ids");
  if (c.target.size() != vocab.target_size())
    fail(file, "target: " + std::to_string(c.target.size()) + " counts for " + std::to_string(vocab.target_size()) + " ids");
}

std::vector<int64_t> counts_for(const TokenCounts& c, const std::string& which, int64_t rows, const std::string& file) {
  if (which != "source" && which != "target" && which != "both")
    fail(file, "counts_for: unknown side '" + which + "' (source, target or both)");
  std::vector<int64_t> v = which == "target" ? c.target : c.source;
  if (which == "both") {
    if (c.target.size() != c.source.size()) fail(file, "a shared embedding needs source and target counts of one length");
    for (size_t i = 0; i < v.size(); ++i) v[i] += c.target[i];
  }
  if (static_cast<int64_t>(v.size()) != rows)
    fail(file, which + ": " + std::to_string(v.size()) + " counts for an embedding of " + std::to_string(rows) + " rows");
  // All zeros would silently cluster by id: the side was not counted.
  if (std::all_of(v.begin(), v.end(), [](int64_t n) { return n == 0; }))
    fail(file, which + ": no tokens were counted on this side (count-tokens --" + (which == "both" ? "source" : which) +
                   " FILE)");
  return v;
}

}  // namespace qtool::quantize
