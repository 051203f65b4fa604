#include "model/bit_budget.h"

#include <cstdio>

namespace qtool {

std::vector<TensorBits> tensor_bits(const QtmModel& q) {
  std::vector<TensorBits> rows = tensor_bits(q.fp32);
  for (TensorBits& r : rows)
    if (q.fp16_vectors.count(r.name)) r.type = "fp16", r.bytes = r.params * 2, r.code_bits = 16.0;  // halves
  for (const auto& [name, t] : q.quantized.int8)
    rows.push_back({name, qtype_name(t.type), shape_str({t.rows, t.cols}), t.rows * t.cols,
                    t.rows * t.cols + static_cast<int64_t>(t.scales.size()) * 4, 8.0, true});
  for (const auto& [name, t] : q.quantized.binary)
    rows.push_back({name, "binary/" + std::to_string(t->bits), shape_str({t->rows, t->cols}), t->rows * t->cols,
                    binary_code_bytes(*t), double(t->bits), true});
  for (const auto& [name, e] : q.quantized.clustered)
    rows.push_back({name, "clustered/" + std::to_string(e->clusters.size()), shape_str({e->rows, e->cols}),
                    e->rows * e->cols, e->bytes(), e->average_bits(), true});
  return rows;
}

std::vector<TensorBits> tensor_bits(const TensorMap& fp32) {
  std::vector<TensorBits> rows;
  for (const auto& [name, t] : fp32)
    rows.push_back({name, "fp32", shape_str(t.shape), t.numel(), t.numel() * 4, 32.0,
                    t.shape.size() == 2 && t.shape[0] > 1});
  return rows;
}

const char* block_of(const std::string& name) {
  if (name.rfind("model.encoder.layers.", 0) == 0) return "encoder";
  if (name.rfind("model.decoder.layers.", 0) == 0) return "decoder";
  if (name.find("embed_tokens") != std::string::npos || name == "model.shared.weight") return "embedding";
  if (name.rfind("lm_head", 0) == 0) return "output";
  return "other";
}

namespace {

template <class Bits>
std::map<std::string, double> block_averages(const std::vector<TensorBits>& rows, Bits bits_of) {
  std::map<std::string, std::pair<double, int64_t>> sums;  // Σ bits·params, Σ params
  for (const TensorBits& r : rows) {
    if (!r.matrix) continue;
    for (const std::string& b : {std::string(block_of(r.name)), std::string("all")}) {
      sums[b].first += bits_of(r);
      sums[b].second += r.params;
    }
  }
  std::map<std::string, double> avg;
  for (const auto& [b, s] : sums) avg[b] = s.first / double(s.second);
  return avg;
}

}  // namespace

std::map<std::string, double> average_bits(const std::vector<TensorBits>& rows) {
  return block_averages(rows, [](const TensorBits& r) { return 8.0 * double(r.bytes); });
}

std::map<std::string, double> average_code_bits(const std::vector<TensorBits>& rows) {
  return block_averages(rows, [](const TensorBits& r) { return r.code_bits * double(r.params); });
}

TensorPlace place_of(const std::string& name) {
  TensorPlace p{block_of(name), -1, name};
  for (const char* stack : {"model.encoder.layers.", "model.decoder.layers."}) {
    const std::string prefix = stack;
    if (name.rfind(prefix, 0) != 0) continue;
    size_t end = 0;
    p.layer = std::stoi(name.substr(prefix.size()), &end);
    p.tensor = name.substr(prefix.size() + end + 1);
    if (p.tensor.size() > 7 && p.tensor.compare(p.tensor.size() - 7, 7, ".weight") == 0)
      p.tensor.resize(p.tensor.size() - 7);
    return p;
  }
  return p;
}

}  // namespace qtool
