#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the demo
# pipeline (configs/demo.json) on the model bundled in the repo: calibrate, FP32 /
# INT8 / low-bit variants, test BLEU, speed and memory. Ends with the variants
# table; out/demo/report.html has the plots. A second run skips every stage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/qtool pipeline configs/demo.json "$@"
