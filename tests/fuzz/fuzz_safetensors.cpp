// safetensors: the whole file from memory through parse_safetensors, the
// function read_safetensors maps a file into.
#include <span>

#include "checkpoint/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qtool::fuzz::expect_clean("model.safetensors: ", [&] {
    const qtool::TensorMap tensors = qtool::checkpoint::parse_safetensors({data, size}, "model.safetensors");
    uint64_t bytes = 0;
    for (const auto& [name, t] : tensors) {
      qtool::fuzz::require(t.numel() >= 0 && uint64_t(t.numel()) == t.data.size(), "data matches the shape");
      bytes += t.data.size();
    }
    qtool::fuzz::require(bytes <= size, "no more elements than bytes in the file");
  });
  return 0;
}
