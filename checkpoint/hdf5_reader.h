// HDF5 checkpoint reader: one float32 dataset per tensor, the dotted name split
// into groups (model.encoder.layers.0.fc1.weight → /model/encoder/layers/0/fc1/weight),
// and config.json's text as the root attribute "config". Read-only; external
// storage, soft/external links and non-float32 datasets are refused.
#pragma once
#include <string>

#include "model/tensor.h"

namespace qtool::checkpoint {

struct Hdf5Checkpoint {
  TensorMap tensors;
  std::string config_json;  // root attribute "config"
};

Hdf5Checkpoint read_hdf5(const std::string& path);

}  // namespace qtool::checkpoint
