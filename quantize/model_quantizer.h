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
};

// Quantized tensors by (tensor name, format), so a search that builds many plans
// quantizes each tensor once per format.
struct QuantizeCache {
  struct Linear {
    std::shared_ptr<const Int8Tensor> int8;
    std::shared_ptr<const BinaryCodeTensor> binary;
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

// `counts` is needed only for clustered embeddings; `progress(done, total)` is
// called as layers finish. Throws qtool::Error naming `config_file` for a plan
// that does not fit the model (an override of a layer it does not have, an
// output projection that cannot share an untied embedding).
std::vector<TensorReport> quantize_model(MarianWeights& w, const QuantizeConfig& config, const EmbeddingCounts& counts,
                                         const std::string& config_file,
                                         const std::function<void(int, int)>& progress = {},
                                         QuantizeCache* cache = nullptr);

// Binary-codes an embedding table in frequency clusters: rows sorted by `counts`
// (descending), `clusters` clusters growing by `ratio`, cluster i with
// (clusters − i) planes. clusters = 1 with empty counts: one cluster, rows in id order.
ClusteredBinaryEmbedding cluster_embedding(const Tensor& table, const std::vector<int64_t>& counts, int clusters,
                                           double ratio, const BinaryCodeOptions& opt, double* relative_error);

}  // namespace qtool::quantize
