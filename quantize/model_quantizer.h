// Quantizes a resolved Marian model by a precision plan: every linear layer to
// FP32, INT8 or binary code (its sub-layer's bits, or a per-layer override), the
// embeddings to INT8 or binary code in frequency clusters, and the output
// projection sharing the tied embedding's code or quantized on its own.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/vocabulary.h"
#include "model/weights.h"
#include "quantize/config.h"

namespace qtool::quantize {

// Token frequencies in the model's id space, per embedding role.
struct EmbeddingCounts {
  std::vector<int64_t> encoder, decoder;  // empty when not needed
};

// The counts each embedding role needs, checked against the model's vocabulary:
// encoder ← source, decoder ← target, a table shared by both ← their sum.
struct TokenCounts;
EmbeddingCounts embedding_counts(const TokenCounts& counts, const Vocabulary& vocab, const MarianWeights& w,
                                 const std::string& file);

struct TensorReport {
  std::string name, format;
  int64_t params = 0;
  double bits = 0;             // code bits per weight (sign planes, 8, 32)
  double relative_error = 0;   // ‖W − Ŵ‖ / ‖W‖ (0 for FP32)
  bool activation_aware = false;       // binary code weighted by its input's column mean squares
  double weighted_relative_error = 0;  // √(Σh(w − ŵ)² / Σh w²) when activation_aware
  bool gptq = false;                   // binary code by GPTQ on the input's hessian
  double output_error = 0, start_output_error = 0;  // GptqResult's, when gptq
};


// Quantized tensors by (tensor name, format), so a search that builds many plans
// quantizes each tensor once per format. A cache belongs to one set of column
// weights and activation power (QuantizeConfig::column_weights): the key does not
// say whether a tensor was quantized activation-aware, so never share a cache
// between configs whose weights differ.
struct QuantizeCache {
  struct Linear {
    std::shared_ptr<const Int8Tensor> int8;
    std::shared_ptr<const BinaryCodeTensor> binary;
    TensorPtr bias;  // with bias correction: the corrected bias
    TensorReport report;
  };
  struct Embedding {
    std::shared_ptr<const Int8Tensor> int8;
    std::shared_ptr<const ClusteredBinaryEmbedding> binary;
    TensorReport report;
  };
  std::map<std::pair<std::string, std::string>, Linear> linears;
  std::map<std::pair<std::string, std::string>, Embedding> embeddings;
};

// One linear layer to precision `p` (from `cache` when it was done before):
// sets l.int8 or l.binary (and l.bias, with bias correction) and drops l.weight;
// FP32 leaves l as it is. Returns the report line.
TensorReport quantize_linear(const std::string& name, LinearWeights& l, const Precision& p, const QuantizeConfig& c,
                             QuantizeCache* cache, const std::string& config_file);

// `counts` is needed only for clustered embeddings. Binary-coded layers whose input has column weights in
// `config.column_weights` (by linear_input_name) are quantized activation-aware
// with h^activation_power; a binary-coded embedding that also serves as the tied
// output projection takes lm_head's weights (its embedding role has no product).
// Column weights of the wrong length are refused. `progress(done, total)` is
// called as layers finish. Throws qtool::Error naming `config_file` for a plan
// that does not fit the model (an override of a layer it does not have, an
// output projection that cannot share an untied embedding).
std::vector<TensorReport> quantize_model(MarianWeights& w, const QuantizeConfig& config, const EmbeddingCounts& counts,
                                         const std::string& config_file,
                                         const std::function<void(int, int)>& progress = {},
                                         QuantizeCache* cache = nullptr);

// Binary-codes an embedding table in frequency clusters: rows sorted by `counts`
// (descending), `clusters` clusters growing by `ratio`, cluster i with
// (opt.bits − i) planes (opt.bits ≥ clusters). clusters = 1 with empty counts: one cluster, rows in id order.
// opt.column_weights (d of them), when set, weigh every cluster's columns; with
// `hessian` (d × d) and `gptq`, every cluster is GPTQ'd on it instead.
ClusteredBinaryEmbedding cluster_embedding(const Tensor& table, const std::vector<int64_t>& counts, int clusters,
                                           double ratio, const BinaryCodeOptions& opt, double* relative_error,
                                           double* weighted_relative_error = nullptr, const float* hessian = nullptr,
                                           const GptqOptions* gptq = nullptr);

// Rounds every bias and LayerNorm parameter to the nearest half (what a .qtm
// with "vectors": "fp16" stores); quantize_model does it when the config says so.
void round_vectors_to_half(MarianWeights& w);

}  // namespace qtool::quantize
