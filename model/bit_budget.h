// What a model's weights cost: per tensor its format, code bits and bytes, and
// the average bits per block (embedding, encoder, decoder, output projection)
// and over all weight matrices, as the low-bit paper quotes them (embedding
// 2.5, decoder 1.8, encoder 3.7 bits). `qtool inspect` prints it; the pipeline
// report draws it.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/qtm.h"
#include "model/tensor.h"

namespace qtool {

struct TensorBits {
  std::string name, type, shape;  // type: fp32, int8_per_channel, binary/3, clustered/4, …
  int64_t params = 0, bytes = 0;
  double code_bits = 32;  // bits per weight of the code itself (sign planes, 8, 32), scales aside
  bool matrix = false;    // a weight matrix (counted in the averages), not a bias or norm
};

std::vector<TensorBits> tensor_bits(const QtmModel& m);
std::vector<TensorBits> tensor_bits(const TensorMap& fp32);  // a checkpoint's tensors

// "embedding", "encoder", "decoder", "output" or "other", by the Hugging Face name.
const char* block_of(const std::string& tensor_name);

// Average bits per weight per block and under "all", matrices only, as stored:
// bytes · 8 / parameters, so scales (α, INT8 row scales), padding and cluster
// order tables count. What a size budget is about.
std::map<std::string, double> average_bits(const std::vector<TensorBits>& rows);
// The same for the code alone (sign planes, 8, 32), as the paper quotes it.
std::map<std::string, double> average_code_bits(const std::vector<TensorBits>& rows);

// Where a weight matrix sits: block, layer (−1 outside the layer stacks) and the
// tensor within the layer ("self_attn.q_proj", "fc1"); for the report's heat map.
struct TensorPlace {
  std::string block;
  int layer = -1;
  std::string tensor;
};
TensorPlace place_of(const std::string& tensor_name);

}  // namespace qtool
