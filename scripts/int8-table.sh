#!/usr/bin/env bash
# BLEU of static INT8 (the recommended calibration, and each histogram method
# without the per-layer fallback) and dynamic INT8 against FP32 on a model's test
# set: the tables in docs/benchmarks.md and docs/calibration.md.
# usage: [SRC=en TGT=de BEAM=4 CALIB_DATA=FILE METHODS="kl mse"] scripts/int8-table.sh MODEL_DIR DATA_DIR [OUT_DIR]
#   BEAM=1 skips the beam column; SRC/TGT name the test files; QTOOL=path runs another build.
set -euo pipefail
model=$1 data=$2 out=${3:-out/int8-table}
src=${SRC:-en} tgt=${TGT:-de} beam=${BEAM:-4} methods=${METHODS:-kl max percentile mse}
q=${QTOOL:-./build/qtool}
mkdir -p "$out"
bleu() {
  $q eval-bleu --quiet --json --model "$1" --src "$data/test.$src" --ref "$data/test.$tgt" --beam "$2" |
    python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["bleu"])'
}
size() { stat -c %s "$1"; }
row() {
  local b="–"
  [ "$beam" -gt 1 ] && b=$(bleu "$2" "$beam")
  printf "| %s | %s | %s | %s |\n" "$1" "$(bleu "$2" 1)" "$b" "$(size "$3")"
}
printf "| variant | greedy BLEU | beam %s BLEU | file bytes |\n| --- | --- | --- | --- |\n" "$beam"
weights=$model/model.safetensors
[ -f "$weights" ] || weights=$model/model.h5
row FP32 "$model" "$weights"
$q quantize --quiet --model "$model" --config configs/int8-dynamic.json --output "$out/dynamic.qtm" 2>/dev/null
row "INT8 dynamic" "$out/dynamic.qtm" "$out/dynamic.qtm"
calib_data=${CALIB_DATA:-$data/train.$src}
[ -f "$calib_data" ] || calib_data=$data/dev.$src
# The recommended path: `qtool calibrate` with no method, configs/int8-static.json.
$q calibrate --quiet --model "$model" --data "$calib_data" --output "$out/calib.json" 2>&1 | sed 's/^/  /' >&2
$q quantize --quiet --model "$model" --config configs/int8-static.json --calibration "$out/calib.json" \
  --report "$out/static.report.json" --output "$out/static.qtm" 2>/dev/null
row "INT8 static (recommended: output error, fallback)" "$out/static.qtm" "$out/static.qtm"
$q quantize --quiet --model "$model" --config configs/int8-kl.json --calibration "$out/calib.json" \
  --output "$out/static.nofallback.qtm" 2>/dev/null
row "INT8 static, output error, no fallback" "$out/static.nofallback.qtm" "$out/static.nofallback.qtm"
# The histogram methods as before: symmetric, every layer static (int8-kl.json has no fallback).
for m in $methods; do
  $q calibrate --quiet --model "$model" --data "$calib_data" --method $m --output "$out/calib.$m.json" 2>/dev/null
  $q quantize --quiet --model "$model" --config configs/int8-kl.json --calibration "$out/calib.$m.json" --output "$out/static.$m.qtm" 2>/dev/null
  row "INT8 static, $m, no fallback" "$out/static.$m.qtm" "$out/static.$m.qtm"
done
