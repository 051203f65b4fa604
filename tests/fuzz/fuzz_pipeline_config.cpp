// The pipeline config through parse_pipeline_config: validated before any work,
// so every input is either a config or one clear refusal. (Paths in the input
// are only looked at, never written: the parser creates nothing.)
#include "pipeline/pipeline_config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qtool::fuzz::expect_clean("pipeline.json: ", [&] {
    const qtool::pipeline::PipelineConfig c = qtool::pipeline::parse_pipeline_config(text, "pipeline.json");
    qtool::fuzz::require(!c.variants.empty(), "an accepted config has variants");
    for (const auto& v : c.variants)
      qtool::fuzz::require(!v.use_calibration || c.calibrate.has_value(), "a variant's calibration has its stage");
  });
  return 0;
}
