#include "runtime/model.h"

#include <malloc.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/linear_binary.h"
#include "runtime/ops/linear_int8.h"
#include "runtime/parallel.h"

namespace qtool::runtime {
namespace {

// A layer norm's parameters, copied; the tensors are let go.
NormParams take_norm(LayerNormWeights& w) {
  if (!w.gamma) return {};
  NormParams p{w.gamma->data, w.beta->data};
  w = {};
  return p;
}

// The weights' type picks the implementation: FP32, INT8 or binary code (all
// parts alike). The parts are moved out: once the layer holds the weights in its
// own layout, a tensor nothing else refers to is freed.
std::unique_ptr<Linear> take_linear(const std::string& name, std::initializer_list<LinearWeights*> from,
                                    std::optional<Activation> act = std::nullopt) {
  std::vector<LinearWeights> parts;
  for (LinearWeights* p : from) parts.push_back(std::exchange(*p, {}));
  std::unique_ptr<Linear> l;
  if (parts[0].int8) l = std::make_unique<LinearInt8>(parts);
  else if (parts[0].binary) l = std::make_unique<LinearBinary>(parts);
  else if (parts[0].clustered) l = std::make_unique<LinearClustered>(parts[0].clustered, parts[0].bias->data);
  else l = std::make_unique<LinearF32>(parts);
  l->activation = act;
  l->name = name;
  return l;
}

// Post-norm: x = LN(x + y). Pre-norm: x = x + y (the norm was applied to the block input).
void residual(float* x, const float* y, int64_t rows, int64_t d, const NormParams& norm, bool pre_norm) {
  if (pre_norm) {
    for (int64_t i = 0; i < rows * d; ++i) x[i] += y[i];
  } else {
    add_layer_norm(x, y, rows, d, norm.gamma.data(), norm.beta.data());
  }
}

// The input of a block: the normed copy for pre-norm, x itself for post-norm.
const float* block_input(const float* x, int64_t rows, int64_t d, const NormParams& norm,
                         bool pre_norm, std::vector<float>& buf) {
  if (!pre_norm) return x;
  buf.resize(rows * d);
  std::memcpy(buf.data(), x, rows * d * sizeof(float));
  add_layer_norm(buf.data(), nullptr, rows, d, norm.gamma.data(), norm.beta.data());
  return buf.data();
}

// Calibration: reports `width` floats at `offset` of each listed row of a
// [rows, stride] buffer as one tensor (q, k or v of an attention).
void observe_rows(ActivationObserver* obs, const std::string& name, const float* base, int64_t stride,
                  int64_t offset, int64_t width, const std::vector<int64_t>& rows) {
  std::vector<float> buf;
  buf.reserve(rows.size() * width);
  for (int64_t r : rows) buf.insert(buf.end(), base + r * stride + offset, base + r * stride + offset + width);
  obs->observe(name, buf.data(), static_cast<int64_t>(buf.size()));
}

// Calibration: the softmax rows attend_head copied out, [units][n_queries][n_keys],
// each query row cut to the keys it saw.
void observe_probs(ActivationObserver* obs, const std::string& name, const std::vector<float>& probs,
                   int64_t units, int64_t n_queries, int64_t n_keys,
                   const std::function<int64_t(int64_t unit, int64_t query)>& visible) {
  std::vector<float> buf;
  for (int64_t u = 0; u < units; ++u)
    for (int64_t i = 0; i < n_queries; ++i) {
      const float* row = probs.data() + (u * n_queries + i) * n_keys;
      buf.insert(buf.end(), row, row + visible(u, i));
    }
  obs->observe(name, buf.data(), static_cast<int64_t>(buf.size()));
}

// Attention units (one head of one row or sentence) of ~unit_cost multiply-adds
// each: split across the threads in chunks of ≥ 2^15, so decoding one sentence
// (a few thousand per head) stays on the calling thread. fn(first, last, scratch).
template <typename F>
void for_heads(int64_t units, int64_t unit_cost, int64_t scratch_floats, F&& fn) {
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(unit_cost, 1));
  parallel_for(units, grain, [&](int64_t first, int64_t last) {
    thread_local std::vector<float> scratch;
    scratch.resize(scratch_floats);
    fn(first, last, scratch.data());
  });
}

// The encoder attends in integers only over sentences this long: quantizing
// each key, value and query costs more than the products save on shorter ones
// (at head_dim 64 the two break even near 32 tokens; docs/benchmarks.md). The
// decoder attends in integers at every length: its int8 caches are reused
// at every step, and cross-attention's are quantized once per sentence.
constexpr int64_t kEncoderInt8MinLength = 48;

std::vector<int64_t> iota_rows(int64_t n) {
  std::vector<int64_t> r(n);
  for (int64_t i = 0; i < n; ++i) r[i] = i;
  return r;
}

}  // namespace

// The caller keeps its weights: the copy holds a second reference to each tensor.
MarianModel::MarianModel(const MarianWeights& w) : MarianModel(MarianWeights(w)) {}

MarianModel::MarianModel(MarianWeights&& w) : config_(w.config) {
  const ModelConfig& c = config_;
  const int64_t d = c.d_model;
  embed_scale_ = c.scale_embedding ? std::sqrt(static_cast<float>(d)) : 1.0f;
  encoder_embed_int8_ = std::move(w.encoder_embed_int8);
  decoder_embed_int8_ = std::move(w.decoder_embed_int8);
  encoder_embed_binary_ = std::move(w.encoder_embed_binary);
  decoder_embed_binary_ = std::move(w.decoder_embed_binary);
  // Tied FP32: the embedding is the output projection's weight (read from its Wᵀ below).
  const Tensor* tied = w.output.weight == w.decoder_embed && !w.output.quantized() ? w.decoder_embed.get() : nullptr;

  for (size_t i = 0; i < w.encoder.size(); ++i) {
    EncoderLayerWeights& l = w.encoder[i];
    const std::string p = "model.encoder.layers." + std::to_string(i);
    EncoderLayer e;
    e.qkv = take_linear(p + ".self_attn.q_proj", {&l.self_attn.q, &l.self_attn.k, &l.self_attn.v});
    e.out = take_linear(p + ".self_attn.out_proj", {&l.self_attn.out});
    e.fc1 = take_linear(p + ".fc1", {&l.fc1}, c.activation);
    e.fc2 = take_linear(p + ".fc2", {&l.fc2});
    e.attn_norm = take_norm(l.self_attn_norm);
    e.ffn_norm = take_norm(l.ffn_norm);
    e.attn_name = p + ".self_attn";
    encoder_.push_back(std::move(e));
  }
  for (size_t i = 0; i < w.decoder.size(); ++i) {
    DecoderLayerWeights& l = w.decoder[i];
    const std::string p = "model.decoder.layers." + std::to_string(i);
    DecoderLayer e;
    e.self_qkv = take_linear(p + ".self_attn.q_proj", {&l.self_attn.q, &l.self_attn.k, &l.self_attn.v});
    e.self_out = take_linear(p + ".self_attn.out_proj", {&l.self_attn.out});
    e.cross_q = take_linear(p + ".encoder_attn.q_proj", {&l.cross_attn.q});
    e.cross_kv = take_linear(p + ".encoder_attn.k_proj", {&l.cross_attn.k, &l.cross_attn.v});
    e.cross_out = take_linear(p + ".encoder_attn.out_proj", {&l.cross_attn.out});
    e.fc1 = take_linear(p + ".fc1", {&l.fc1}, c.activation);
    e.fc2 = take_linear(p + ".fc2", {&l.fc2});
    e.self_norm = take_norm(l.self_attn_norm);
    e.cross_norm = take_norm(l.cross_attn_norm);
    e.ffn_norm = take_norm(l.ffn_norm);
    e.self_name = p + ".self_attn";
    e.cross_name = p + ".encoder_attn";
    decoder_.push_back(std::move(e));
  }
  encoder_final_norm_ = take_norm(w.encoder_final_norm);
  decoder_final_norm_ = take_norm(w.decoder_final_norm);
  output_projection_ = take_linear("lm_head", {&w.output});
  // An FP32 embedding that is the output projection's weight is read from its Wᵀ
  // [d, vocab] (an FP32 projection: LinearF32), column r as row r; another is
  // kept and read where it lies.
  const int64_t vocab = output_projection_->out_features();
  auto table = [&](TensorPtr t) -> EmbeddingTable {
    if (!t) return {};
    if (t.get() == tied) return {static_cast<const LinearF32&>(*output_projection_).weight_t(), 1, vocab, nullptr};
    const float* data = t->data.data();
    return {data, d, 1, std::move(t)};
  };
  encoder_embed_ = table(std::exchange(w.encoder_embed, nullptr));
  decoder_embed_ = table(std::exchange(w.decoder_embed, nullptr));
  // A quantized model (INT8 or binary-coded q, k and v) attends in integers: its
  // q, k and v already carry the products' error, the attention products were a
  // quarter of INT8 decoding time in FP32, and int8 caches are a quarter the memory.
  auto int8 = [](const std::unique_ptr<Linear>& l) {
    return dynamic_cast<const LinearInt8*>(l.get()) != nullptr || dynamic_cast<const LinearBinary*>(l.get()) != nullptr;
  };
  int8_attention_ = !encoder_.empty() || !decoder_.empty();
  for (const EncoderLayer& e : encoder_) int8_attention_ = int8_attention_ && int8(e.qkv);
  for (const DecoderLayer& e : decoder_)
    int8_attention_ = int8_attention_ && int8(e.self_qkv) && int8(e.cross_q) && int8(e.cross_kv);
  const char* env = std::getenv("QTOOL_ATTENTION");
  if (env && std::string(env) == "fp32") int8_attention_ = false;
#ifdef __GLIBC__
  // Loading freed the imported tensors and its scratch (the file's JSON, the
  // tokenizer's texts): glibc returns free memory to the system by itself only
  // from the top of the heap, so the pages freed below it are given back here
  // (1–3 MiB at ddtp-en-de-small; a few ms).
  malloc_trim(0);
#endif
}

void MarianModel::set_observer(ActivationObserver* observer) {
  observer_ = observer;
  for (EncoderLayer& e : encoder_)
    for (Linear* l : {e.qkv.get(), e.out.get(), e.fc1.get(), e.fc2.get()}) l->observer = observer;
  for (DecoderLayer& e : decoder_)
    for (Linear* l : {e.self_qkv.get(), e.self_out.get(), e.cross_q.get(), e.cross_kv.get(), e.cross_out.get(),
                      e.fc1.get(), e.fc2.get()})
      l->observer = observer;
  output_projection_->observer = observer;
}

void MarianModel::embed(bool decoder, const int* ids, int64_t n, const int64_t* positions, float* out) const {
  const int64_t d = config_.d_model;
  const Int8Tensor* q = (decoder ? decoder_embed_int8_ : encoder_embed_int8_).get();
  const ClusteredBinaryEmbedding* bin = (decoder ? decoder_embed_binary_ : encoder_embed_binary_).get();
  const EmbeddingTable& table = decoder ? decoder_embed_ : encoder_embed_;
  // Sinusoidal rows only as far as positions are used (a per-thread table that
  // grows on demand), not a [max_positions, d] table per model.
  thread_local std::vector<float> table_rows;
  thread_local int64_t table_d = 0;
  int64_t last = -1;
  for (int64_t i = 0; i < n; ++i) last = std::max(last, positions[i]);
  if (table_d != d) table_rows.clear(), table_d = d;
  const int64_t have = static_cast<int64_t>(table_rows.size()) / d;
  if (last >= have) {
    table_rows.reserve((last + 1) * d);  // exactly: no doubling slack
    table_rows.resize((last + 1) * d);
    for (int64_t p = have; p <= last; ++p) sinusoidal_position(p, d, table_rows.data() + p * d);
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = ids[i];
    const float* p = table_rows.data() + positions[i] * d;
    float* o = out + i * d;
    if (bin) {
      bin->decode_row(row, o);
      for (int64_t j = 0; j < d; ++j) o[j] = o[j] * embed_scale_ + p[j];
    } else if (q) {
      const int8_t* e = q->values.data() + row * d;
      const float s = q->scale(row) * embed_scale_;
      for (int64_t j = 0; j < d; ++j) o[j] = float(e[j]) * s + p[j];
    } else {
      const float* e = table.data + row * table.row_stride;
      for (int64_t j = 0; j < d; ++j) o[j] = e[j * table.col_stride] * embed_scale_ + p[j];
    }
  }
}

EncoderOutput MarianModel::encode(const std::vector<std::vector<int>>& sources) const {
  const ModelConfig& c = config_;
  const int64_t d = c.d_model, heads = c.encoder_heads, hd = d / heads;
  const bool pre = c.normalize_before;
  EncoderOutput enc;
  enc.batch = static_cast<int64_t>(sources.size());
  for (const auto& s : sources) {
    enc.lengths.push_back(static_cast<int64_t>(s.size()));
    enc.max_len = std::max(enc.max_len, enc.lengths.back());
  }
  const int64_t B = enc.batch, T = enc.max_len, rows = B * T;
  // Padded positions embed the pad id; attention never looks at them.
  std::vector<int> ids(rows, c.pad_id);
  std::vector<int64_t> pos(rows);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      if (t < enc.lengths[b]) ids[b * T + t] = sources[b][t];
      pos[b * T + t] = t;
    }
  std::vector<float>& x = enc.hidden;
  x.resize(rows * d);
  embed(false, ids.data(), rows, pos.data(), x.data());

  std::vector<float> normed, qkv(rows * 3 * d), ctx(rows * d), proj(rows * d);
  std::vector<float> ffn(rows * c.encoder_ffn_dim);
  const float scaling = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool int8_attn = int8_attention();
  // Integer attention: one layer's keys and values at a time (sentences long enough).
  Int8KVCache kv8 = int8_attn && T >= kEncoderInt8MinLength ? Int8KVCache(B * heads, hd, T) : Int8KVCache();
  std::vector<float> block_in;     // calibration only: the stream entering a feed-forward sub-layer
  std::vector<int64_t> valid_rows;  // calibration only: the rows that are tokens, not padding
  if (observer_)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < enc.lengths[b]; ++t) valid_rows.push_back(b * T + t);
  for (const EncoderLayer& L : encoder_) {
    const float* in = block_input(x.data(), rows, d, L.attn_norm, pre, normed);
    L.qkv->forward(in, rows, qkv.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < d; ++j) qkv[r * 3 * d + j] *= scaling;
    std::fill(ctx.begin(), ctx.end(), 0.0f);
    std::vector<float> probs;  // calibration only: [B, heads, T, T]
    if (observer_) {
      observe_rows(observer_, L.attn_name + ".matmul_qk.q", qkv.data(), 3 * d, 0, d, valid_rows);
      observe_rows(observer_, L.attn_name + ".matmul_qk.k", qkv.data(), 3 * d, d, d, valid_rows);
      observe_rows(observer_, L.attn_name + ".matmul_pv.v", qkv.data(), 3 * d, 2 * d, d, valid_rows);
      probs.assign(B * heads * T * T, 0.0f);
    }
    for_heads(B * heads, 2 * T * T * hd, T, [&](int64_t first, int64_t last, float* scratch) {
      for (int64_t u = first; u < last; ++u) {
        const int64_t b = u / heads, h = u % heads, len = enc.lengths[b];
        const float* base = qkv.data() + b * T * 3 * d + h * hd;
        if (int8_attn && len >= kEncoderInt8MinLength) {
          // The unit's keys and values are quantized by the chunk that attends with them.
          for (int64_t t = 0; t < len; ++t) kv8.store(u, t, base + t * 3 * d + d, base + t * 3 * d + 2 * d);
          for (int64_t i = 0; i < len; ++i)
            attend_head_int8(base + i * 3 * d, kv8, u, len, ctx.data() + (b * T + i) * d + h * hd);
        } else {
          attend_head({base, 3 * d}, {base + d, 3 * d}, {base + 2 * d, 3 * d}, len, len, hd, false,
                      ctx.data() + b * T * d + h * hd, d, scratch,
                      observer_ ? probs.data() + (b * heads + h) * T * T : nullptr);
        }
      }
    });
    if (observer_)
      observe_probs(observer_, L.attn_name + ".matmul_pv.p", probs, B * heads, T, T,
                    [&](int64_t u, int64_t i) { return i < enc.lengths[u / heads] ? enc.lengths[u / heads] : 0; });
    L.out->forward(ctx.data(), rows, proj.data());
    residual(x.data(), proj.data(), rows, d, L.attn_norm, pre);

    if (observer_) block_in = x;
    in = block_input(x.data(), rows, d, L.ffn_norm, pre, normed);
    L.fc1->forward(in, rows, ffn.data());
    L.fc2->forward(ffn.data(), rows, proj.data());
    residual(x.data(), proj.data(), rows, d, L.ffn_norm, pre);
    if (observer_) observer_->observe_ffn_block(L.fc1->name, block_in.data(), x.data(), d, valid_rows);
  }
  if (encoder_final_norm_.present())
    add_layer_norm(x.data(), nullptr, rows, d, encoder_final_norm_.gamma.data(),
                   encoder_final_norm_.beta.data());
  return enc;
}

DecoderState MarianModel::start_decoding(const EncoderOutput& enc,
                                         const std::vector<int64_t>& row_sentence) const {
  const int64_t d = config_.d_model;
  DecoderState s;
  s.encoder = &enc;
  s.d_model = d;
  s.sentence = row_sentence;
  s.self_k.resize(decoder_.size());
  s.self_v.resize(decoder_.size());
  s.cross_kv.resize(decoder_.size());
  s.int8 = int8_attention();
  const int64_t rows = enc.batch * enc.max_len;
  const int64_t heads = config_.decoder_heads, hd = d / heads, T = enc.max_len;
  if (s.int8) {
    s.self_kv8.assign(decoder_.size(), Int8KVCache(s.rows() * heads, hd, 0));
    s.cross_kv8.assign(decoder_.size(), Int8KVCache(enc.batch * heads, hd, T));
  }
  for (size_t l = 0; l < decoder_.size(); ++l) {
    s.cross_kv[l].resize(rows * 2 * d);
    decoder_[l].cross_kv->forward(enc.hidden.data(), rows, s.cross_kv[l].data());
    if (observer_) {
      std::vector<int64_t> valid;
      for (int64_t b = 0; b < enc.batch; ++b)
        for (int64_t t = 0; t < enc.lengths[b]; ++t) valid.push_back(b * enc.max_len + t);
      const std::string& name = decoder_[l].cross_name;
      observe_rows(observer_, name + ".matmul_qk.k", s.cross_kv[l].data(), 2 * d, 0, d, valid);
      observe_rows(observer_, name + ".matmul_pv.v", s.cross_kv[l].data(), 2 * d, d, d, valid);
    }
    if (s.int8) {  // the FP32 keys and values are quantized once, then let go
      const float* kv = s.cross_kv[l].data();
      Int8KVCache& c = s.cross_kv8[l];
      for_heads(enc.batch * heads, 2 * T * hd, 0, [&](int64_t first, int64_t last, float*) {
        for (int64_t u = first; u < last; ++u) {
          const int64_t b = u / heads, h = u % heads;
          for (int64_t t = 0; t < enc.lengths[b]; ++t) {
            const float* row = kv + (b * T + t) * 2 * d + h * hd;
            c.store(u, t, row, row + d);
          }
        }
      });
      std::vector<float>().swap(s.cross_kv[l]);
    }
  }
  grow_cache(s, 16);
  return s;
}

void MarianModel::grow_cache(DecoderState& s, int64_t needed) const {
  if (needed <= s.capacity) return;
  const int64_t d = config_.d_model, rows = s.rows();
  const int64_t cap = std::max<int64_t>(needed, 2 * s.capacity);
  if (s.int8) {
    for (Int8KVCache& c : s.self_kv8) c.grow(cap, s.step);
    s.capacity = s.self_kv8.empty() ? cap : s.self_kv8[0].capacity();
    return;
  }
  for (auto* caches : {&s.self_k, &s.self_v})
    for (std::vector<float>& c : *caches) {
      std::vector<float> grown(rows * cap * d);
      if (s.step > 0)  // nothing cached yet: an empty cache has no data pointer to copy from
        for (int64_t r = 0; r < rows; ++r)
          std::memcpy(grown.data() + r * cap * d, c.data() + r * s.capacity * d,
                      s.step * d * sizeof(float));
      c.swap(grown);
    }
  s.capacity = cap;
}

void MarianModel::select_rows(DecoderState& s, const std::vector<int64_t>& from) {
  const int64_t n = static_cast<int64_t>(from.size());
  const int64_t row_floats = s.capacity * s.d_model;
  for (Int8KVCache& c : s.self_kv8) c.select(from, s.rows() ? c.units() / s.rows() : 0, s.step);
  for (auto* caches : {&s.self_k, &s.self_v})
    for (std::vector<float>& c : *caches) {
      if (c.empty()) continue;  // integer attention: the int8 caches above hold the steps
      std::vector<float> picked(n * row_floats);
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(picked.data() + i * row_floats, c.data() + from[i] * row_floats,
                    s.step * s.d_model * sizeof(float));
      c.swap(picked);
    }
  std::vector<int64_t> sentence(n);
  for (int64_t i = 0; i < n; ++i) sentence[i] = s.sentence[from[i]];
  s.sentence.swap(sentence);
}

void MarianModel::decode_step(DecoderState& s, const std::vector<int>& tokens,
                              std::vector<float>& logits) const {
  logits.resize(s.rows() * config_.decoder_vocab_size);
  output_projection_->forward(decoder_output(s, tokens), s.rows(), logits.data());
  s.step += 1;
}

void MarianModel::decode_step_argmax(DecoderState& s, const std::vector<int>& tokens, const std::vector<int>& masked,
                                     int* best) const {
  output_projection_->forward_argmax(decoder_output(s, tokens), s.rows(), masked, best);
  s.step += 1;
}

// The decoder's last hidden states [rows, d] for one step (this thread's buffer),
// the caches grown and filled at position s.step.
const float* MarianModel::decoder_output(DecoderState& s, const std::vector<int>& tokens) const {
  const ModelConfig& c = config_;
  const int64_t d = c.d_model, heads = c.decoder_heads, hd = d / heads;
  const int64_t N = s.rows(), t = s.step, T = s.encoder->max_len;
  grow_cache(s, s.step + 1);
  const int64_t cap = s.capacity;
  const bool pre = c.normalize_before;
  // Each product splits itself over the threads (runtime/parallel.h); between
  // products the calling thread is alone, and the threads spin until the next.
  thread_local std::vector<float> x, normed, qkv_buf, q_buf, ctx_buf, proj_buf, ffn_buf;
  x.resize(N * d);
  qkv_buf.resize(N * 3 * d);
  q_buf.resize(N * d);
  ctx_buf.resize(N * d);
  proj_buf.resize(N * d);
  ffn_buf.resize(N * c.decoder_ffn_dim);
  float *qkv = qkv_buf.data(), *q = q_buf.data(), *ctx = ctx_buf.data(), *proj = proj_buf.data(),
        *ffn = ffn_buf.data();
  std::vector<int64_t> pos(N, t);
  embed(true, tokens.data(), N, pos.data(), x.data());
  const float scaling = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t units = N * heads;  // attention units: (row, head)
  std::vector<float> block_in;   // calibration only: the stream entering a feed-forward sub-layer
  std::vector<int64_t> all_rows;
  if (observer_)
    for (int64_t r = 0; r < N; ++r) all_rows.push_back(r);

  for (size_t l = 0; l < decoder_.size(); ++l) {
    const DecoderLayer& L = decoder_[l];
    // Self-attention over this row's cached positions 0..t.
    const float* in = block_input(x.data(), N, d, L.self_norm, pre, normed);
    L.self_qkv->forward(in, N, qkv);
    if (s.int8) {
      Int8KVCache& kv = s.self_kv8[l];
      for (int64_t u = 0; u < units; ++u) {
        float* row = qkv + (u / heads) * 3 * d + (u % heads) * hd;
        for (int64_t j = 0; j < hd; ++j) row[j] *= scaling;
        kv.store(u, t, row + d, row + 2 * d);
      }
      for_heads(units, 2 * (t + 1) * hd, 0, [&](int64_t first, int64_t last, float*) {
        for (int64_t u = first; u < last; ++u)
          attend_head_int8(qkv + (u / heads) * 3 * d + (u % heads) * hd, kv, u, t + 1,
                           ctx + (u / heads) * d + (u % heads) * hd);
      });
    } else {
      float* K = s.self_k[l].data();
      float* V = s.self_v[l].data();
      for (int64_t u = 0; u < units; ++u) {
        const int64_t r = u / heads, h = u % heads;
        float* row = qkv + r * 3 * d + h * hd;
        for (int64_t j = 0; j < hd; ++j) row[j] *= scaling;
        std::memcpy(K + (r * cap + t) * d + h * hd, row + d, hd * sizeof(float));
        std::memcpy(V + (r * cap + t) * d + h * hd, row + 2 * d, hd * sizeof(float));
      }
      std::vector<float> probs;  // calibration only: [N, heads, t + 1]
      if (observer_) {
        const std::vector<int64_t> all = iota_rows(N);
        observe_rows(observer_, L.self_name + ".matmul_qk.q", qkv, 3 * d, 0, d, all);
        observe_rows(observer_, L.self_name + ".matmul_qk.k", qkv, 3 * d, d, d, all);
        observe_rows(observer_, L.self_name + ".matmul_pv.v", qkv, 3 * d, 2 * d, d, all);
        probs.assign(N * heads * (t + 1), 0.0f);
      }
      for_heads(units, 2 * (t + 1) * hd, t + 1, [&](int64_t first, int64_t last, float* scratch) {
        for (int64_t u = first; u < last; ++u) {
          const int64_t r = u / heads, h = u % heads;
          attend_head({qkv + r * 3 * d + h * hd, 3 * d}, {K + r * cap * d + h * hd, d},
                      {V + r * cap * d + h * hd, d}, 1, t + 1, hd, false, ctx + r * d + h * hd, d, scratch,
                      observer_ ? probs.data() + (r * heads + h) * (t + 1) : nullptr);
        }
      });
      if (observer_)
        observe_probs(observer_, L.self_name + ".matmul_pv.p", probs, N * heads, 1, t + 1,
                      [&](int64_t, int64_t) { return t + 1; });
    }
    L.self_out->forward(ctx, N, proj);
    residual(x.data(), proj, N, d, L.self_norm, pre);

    // Cross-attention over the row's sentence.
    in = block_input(x.data(), N, d, L.cross_norm, pre, normed);
    L.cross_q->forward(in, N, q);
    for (int64_t u = 0; u < units; ++u)
      for (int64_t j = 0; j < hd; ++j) q[(u / heads) * d + (u % heads) * hd + j] *= scaling;
    const float* KV = s.cross_kv[l].data();
    if (observer_) observer_->observe(L.cross_name + ".matmul_qk.q", q, N * d);
    std::vector<float> cross_probs;  // calibration only: [N, heads, T]
    if (observer_) cross_probs.assign(N * heads * T, 0.0f);
    if (s.int8)
      for_heads(units, 2 * T * hd, 0, [&](int64_t first, int64_t last, float*) {
        for (int64_t u = first; u < last; ++u) {
          const int64_t r = u / heads, h = u % heads, b = s.sentence[r];
          attend_head_int8(q + r * d + h * hd, s.cross_kv8[l], b * heads + h, s.encoder->lengths[b],
                           ctx + r * d + h * hd);
        }
      });
    else
      for_heads(units, 2 * T * hd, T, [&](int64_t first, int64_t last, float* scratch) {
        for (int64_t u = first; u < last; ++u) {
          const int64_t r = u / heads, h = u % heads, b = s.sentence[r];
          const float* base = KV + b * T * 2 * d + h * hd;
          attend_head({q + r * d + h * hd, d}, {base, 2 * d}, {base + d, 2 * d}, 1, s.encoder->lengths[b], hd,
                      false, ctx + r * d + h * hd, d, scratch,
                      observer_ ? cross_probs.data() + (r * heads + h) * T : nullptr);
        }
      });
    if (observer_)
      observe_probs(observer_, L.cross_name + ".matmul_pv.p", cross_probs, N * heads, 1, T,
                    [&](int64_t u, int64_t) { return s.encoder->lengths[s.sentence[u / heads]]; });
    L.cross_out->forward(ctx, N, proj);
    residual(x.data(), proj, N, d, L.cross_norm, pre);

    if (observer_) block_in = x;
    in = block_input(x.data(), N, d, L.ffn_norm, pre, normed);
    L.fc1->forward(in, N, ffn);
    L.fc2->forward(ffn, N, proj);
    residual(x.data(), proj, N, d, L.ffn_norm, pre);
    if (observer_) observer_->observe_ffn_block(L.fc1->name, block_in.data(), x.data(), d, all_rows);
  }
  if (decoder_final_norm_.present())
    add_layer_norm(x.data(), nullptr, N, d, decoder_final_norm_.gamma.data(),
                   decoder_final_norm_.beta.data());
  return x.data();
}

}  // namespace qtool::runtime
