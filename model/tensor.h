// An FP32 tensor as imported from a checkpoint: row-major, owned.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qtool {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t dim(size_t i) const { return shape.at(i); }
};

// Tensors by their Hugging Face name ("model.encoder.layers.0.fc1.weight").
using TensorMap = std::map<std::string, Tensor>;

std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace qtool
