#include "calibrate/paired_pass.h"

#include <algorithm>

#include "util/error.h"

namespace qtool::calibrate {

void run_paired(runtime::MarianModel& model, runtime::MarianModel& reference,
                const std::vector<std::vector<int>>& sources, const std::vector<std::vector<int>>& targets,
                int batch_size, bool decode) {
  const int start = model.config().decoder_start_id;
  std::vector<float> logits;
  for (size_t b0 = 0; b0 < sources.size(); b0 += size_t(batch_size)) {
    const size_t b1 = std::min(sources.size(), b0 + size_t(batch_size));
    const std::vector<std::vector<int>> src(sources.begin() + b0, sources.begin() + b1);
    const runtime::EncoderOutput enc_r = reference.encode(src);
    const runtime::EncoderOutput enc_m = model.encode(src);
    if (!decode) continue;
    std::vector<int64_t> active(src.size());  // row → sentence index in `targets`
    for (size_t i = 0; i < active.size(); ++i) active[i] = int64_t(b0 + i);
    std::vector<int64_t> rows(src.size());
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = int64_t(i);
    runtime::DecoderState sr = reference.start_decoding(enc_r, rows);
    runtime::DecoderState sm = model.start_decoding(enc_m, rows);
    for (size_t t = 0;; ++t) {
      std::vector<int64_t> keep;  // a sentence is fed its t-th token while t ≤ its length (the last predicts </s>)
      for (size_t r = 0; r < active.size(); ++r)
        if (t <= targets[active[r]].size()) keep.push_back(int64_t(r));
      if (keep.empty()) break;
      if (keep.size() < active.size()) {
        runtime::MarianModel::select_rows(sr, keep);
        runtime::MarianModel::select_rows(sm, keep);
        std::vector<int64_t> kept;
        for (int64_t r : keep) kept.push_back(active[r]);
        active = std::move(kept);
      }
      std::vector<int> feed(active.size());
      for (size_t r = 0; r < active.size(); ++r) feed[r] = t == 0 ? start : targets[active[r]][t - 1];
      reference.decode_step(sr, feed, logits);
      model.decode_step(sm, feed, logits);
    }
  }
}

namespace {

constexpr const char* kOutputProjection = "lm_head";  // the runtime's name for it (runtime/model.cpp)

// The reference's stream leaving each sub-layer at its last call.
class LastOutputs final : public runtime::ActivationObserver {
 public:
  void observe(const std::string&, const float*, int64_t) override {}
  void observe_ffn_block(const std::string& fc1, const float*, const float* out, int64_t d,
                         const std::vector<int64_t>& rows) override {
    std::vector<float>& o = last_[fc1];
    o.resize(rows.size() * d);
    for (size_t i = 0; i < rows.size(); ++i) std::copy_n(out + rows[i] * d, d, o.begin() + i * d);
  }
  void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) override {
    if (name == kOutputProjection) last_[name].assign(x, x + rows * cols);
  }
  std::map<std::string, std::vector<float>> last_;
};

// The model's stream entering each sub-layer, beside the reference's output of the same call.
class BlockSampler final : public runtime::ActivationObserver {
 public:
  BlockSampler(const LastOutputs& ref, int64_t encoder_stride, int64_t decoder_stride, int64_t max_rows)
      : ref_(ref), encoder_stride_(encoder_stride), decoder_stride_(decoder_stride), max_rows_(max_rows) {}
  void observe(const std::string&, const float*, int64_t) override {}
  void observe_ffn_block(const std::string& fc1, const float* in, const float*, int64_t d,
                         const std::vector<int64_t>& rows) override {
    auto it = ref_.last_.find(fc1);
    if (it == ref_.last_.end() || it->second.size() != rows.size() * size_t(d))
      throw Error("block pairs: the reference model's output of " + fc1 + " is not the same shape (not one model?)");
    const int64_t stride = fc1.rfind("model.encoder.", 0) == 0 ? encoder_stride_ : decoder_stride_;
    keep(fc1, in, it->second.data(), d, rows, stride);
  }
  void observe_linear(const std::string& name, const float* x, int64_t rows, int64_t cols) override {
    if (name != kOutputProjection) return;
    auto it = ref_.last_.find(name);
    if (it == ref_.last_.end() || it->second.size() != size_t(rows * cols))
      throw Error("block pairs: the reference model's input of " + name + " is not the same shape (not one model?)");
    std::vector<int64_t> all(rows);
    for (int64_t r = 0; r < rows; ++r) all[r] = r;
    keep(name, x, it->second.data(), cols, all, decoder_stride_);
  }
  std::map<std::string, BlockRows> blocks_;

 private:
  // Every stride-th row (counted over the whole pass) of in[rows[i]] and target[i], up to max_rows.
  void keep(const std::string& name, const float* in, const float* target, int64_t d, const std::vector<int64_t>& rows,
            int64_t stride) {
    BlockRows& b = blocks_[name];
    int64_t& seen = seen_[name];
    b.d = d;
    for (size_t i = 0; i < rows.size(); ++i, ++seen) {
      if (seen % stride != 0 || b.rows >= max_rows_) continue;
      b.in.insert(b.in.end(), in + rows[i] * d, in + (rows[i] + 1) * d);
      b.target.insert(b.target.end(), target + i * d, target + (i + 1) * d);
      ++b.rows;
    }
  }
  const LastOutputs& ref_;
  int64_t encoder_stride_, decoder_stride_, max_rows_;
  std::map<std::string, int64_t> seen_;
};

}  // namespace

std::map<std::string, BlockRows> collect_ffn_block_pairs(runtime::MarianModel& model,
                                                         runtime::MarianModel& reference,
                                                         const std::vector<std::vector<int>>& sources,
                                                         const std::vector<std::vector<int>>& targets,
                                                         int batch_size, int64_t max_rows) {
  if (max_rows < 1) throw Error("block pairs: max_rows must be ≥ 1");
  int64_t source_tokens = 0, target_tokens = 0;
  for (const auto& s : sources) source_tokens += int64_t(s.size());
  for (const auto& t : targets) target_tokens += int64_t(t.size()) + 1;
  LastOutputs last;
  BlockSampler sampler(last, std::max<int64_t>(1, (source_tokens + max_rows - 1) / max_rows),
                       std::max<int64_t>(1, (target_tokens + max_rows - 1) / max_rows), max_rows);
  {
    PairedObservers scope(model, &sampler, reference, &last);
    run_paired(model, reference, sources, targets, batch_size, true);
  }
  return std::move(sampler.blocks_);
}

}  // namespace qtool::calibrate
