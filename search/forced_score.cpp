#include "search/forced_score.h"

#include <algorithm>
#include <cmath>

namespace qtool::search {

double forced_nll(const runtime::MarianModel& model, const std::vector<std::vector<int>>& sources,
                  const std::vector<std::vector<int>>& targets, int batch) {
  const ModelConfig& c = model.config();
  double nll = 0.0;
  int64_t tokens = 0;
  std::vector<float> logits;
  for (size_t b0 = 0; b0 < sources.size(); b0 += size_t(batch)) {
    const size_t b1 = std::min(sources.size(), b0 + size_t(batch));
    const std::vector<std::vector<int>> src(sources.begin() + b0, sources.begin() + b1);
    const runtime::EncoderOutput enc = model.encode(src);
    std::vector<int64_t> rows(src.size());
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = int64_t(i);
    runtime::DecoderState state = model.start_decoding(enc, rows);
    size_t longest = 0;
    for (size_t i = b0; i < b1; ++i) longest = std::max(longest, targets[i].size() + 1);
    std::vector<int> feed(src.size(), c.decoder_start_id);
    for (size_t t = 0; t < longest; ++t) {
      model.decode_step(state, feed, logits);
      const int64_t v = int64_t(logits.size() / src.size());
      for (size_t i = 0; i < src.size(); ++i) {
        const std::vector<int>& y = targets[b0 + i];
        if (t > y.size()) {
          feed[i] = c.pad_id;  // finished: keeps the row busy, not scored
          continue;
        }
        const int want = t < y.size() ? y[t] : c.eos_id;
        const float* l = logits.data() + int64_t(i) * v;
        float top = l[0];
        for (int64_t k = 1; k < v; ++k) top = std::max(top, l[k]);
        double sum = 0.0;
        for (int64_t k = 0; k < v; ++k) sum += std::exp(double(l[k]) - top);
        nll += std::log(sum) + top - double(l[want]);
        ++tokens;
        feed[i] = want;
      }
    }
  }
  return tokens ? nll / double(tokens) : 0.0;
}

}  // namespace qtool::search
