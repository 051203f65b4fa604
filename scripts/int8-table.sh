#!/usr/bin/env bash
# BLEU of every calibration method × static/dynamic INT8 against FP32 on a
# model's test set, greedy and beam 4: the table in docs/benchmarks.md.
# usage: scripts/int8-table.sh MODEL_DIR DATA_DIR [OUT_DIR]
set -euo pipefail
model=$1 data=$2 out=${3:-out/int8-table}
q=./build/qtool
mkdir -p "$out"
bleu() { $q eval-bleu --quiet --json --model "$1" --src "$data/test.en" --ref "$data/test.de" --beam "$2" | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["bleu"])'; }
size() { stat -c %s "$1"; }
printf "| variant | greedy BLEU | beam 4 BLEU | file bytes |\n| --- | --- | --- | --- |\n"
printf "| FP32 | %s | %s | %s |\n" "$(bleu "$model" 1)" "$(bleu "$model" 4)" "$(size "$model/model.safetensors")"
$q quantize --model "$model" --config configs/int8-dynamic.json --output "$out/dynamic.qtm" 2>/dev/null
printf "| INT8 dynamic | %s | %s | %s |\n" "$(bleu "$out/dynamic.qtm" 1)" "$(bleu "$out/dynamic.qtm" 4)" "$(size "$out/dynamic.qtm")"
calib_data=${CALIB_DATA:-$data/train.en}
[ -f "$calib_data" ] || calib_data=$data/dev.en
for m in kl max percentile mse; do
  $q calibrate --quiet --model "$model" --data "$calib_data" --sentences 500 --method $m --output "$out/calib.$m.json" 2>/dev/null
  $q quantize --model "$model" --config configs/int8-kl.json --calibration "$out/calib.$m.json" --output "$out/static.$m.qtm" 2>/dev/null
  printf "| INT8 static, %s | %s | %s | %s |\n" "$m" "$(bleu "$out/static.$m.qtm" 1)" "$(bleu "$out/static.$m.qtm" 4)" "$(size "$out/static.$m.qtm")"
done
