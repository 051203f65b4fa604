#!/usr/bin/env bash
# The main job on the model bundled in the repo: translate the bundled test set
# with the FP32 runtime and score it against the references with BLEU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p out
model=models/ddtp-en-de-tiny
./build/qtool inspect --summary "$model"
./build/qtool translate --model "$model" --input data/ddtp-en-de/test.en --output out/test.fp32.de
./build/qtool eval-bleu --hyp out/test.fp32.de --ref data/ddtp-en-de/test.de
./build/qtool bench --model "$model" --input data/ddtp-en-de/test.en --batch 32
