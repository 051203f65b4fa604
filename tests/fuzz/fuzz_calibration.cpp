// The calibration file (calib.json) through parse_calibration, then what the
// quantizer takes from it (inputs()), then a round trip: what to_json() writes
// for an accepted file must be accepted again, with the same thresholds.
#include <cmath>

#include "calibrate/calibration_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qtool::calibrate;
  const std::string text(reinterpret_cast<const char*>(data), size);
  qtool::fuzz::expect_clean("calib.json: ", [&] {
    const Calibration c = parse_calibration(text, "calib.json");
    for (const auto& [name, in] : c.inputs())
      qtool::fuzz::require(std::isnormal(in.threshold) && in.threshold > 0, "thresholds are normal positive floats");
    const Calibration again = parse_calibration(to_json(c), "calib.json (written)");
    qtool::fuzz::require(again.tensors.size() == c.tensors.size(), "round trip keeps every tensor");
    for (const auto& [name, s] : c.tensors)
      qtool::fuzz::require(again.tensors.at(name).threshold == s.threshold, "round trip keeps thresholds");
  });
  return 0;
}
