#!/usr/bin/env bash
# The extremely-low-bit table of docs/benchmarks.md: FP32, INT8 and every
# binary-code plan on a model's test set — average bits (qtool inspect), .qtm
# bytes with the tokenizer beside the file (as the checkpoint's weights file has
# it), greedy and beam-4 BLEU — plus docs/bleu-vs-size.json for the plot.
# usage: scripts/lowbit-table.sh MODEL_DIR DATA_DIR [OUT_DIR] [EXTRA_CONFIG.json ...]
# env: HESSIANS=hessians.bin (qtool calibrate --hessian-output; for the GPTQ configs,
#      which are skipped without it), COUNTS=token-counts.json (default
#      data/ddtp-en-de/token-counts.json)
set -euo pipefail
model=$1 data=$2 out=${3:-out/lowbit-table}
shift $(($# < 3 ? $# : 3))
q=./build/qtool
counts=${COUNTS:-data/ddtp-en-de/token-counts.json}
mkdir -p "$out"
bleu() { $q eval-bleu --quiet --json --model "$1" --src "$data/test.en" --ref "$data/test.de" --beam "$2" | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["bleu"])'; }
bits() { $q inspect --summary "$1" | sed -n 's/^average bits  embedding \([0-9.]*\)  encoder \([0-9.]*\)  decoder \([0-9.]*\).*all weights \([0-9.]*\)$/\1 \2 \3 \4/p'; }
fp32_bytes=$(stat -c %s "$model/model.safetensors")
plot=$out/bleu-vs-size.json
row() {  # label kind file
  local g b s e n d a
  g=$(bleu "$3" 1) b=$(bleu "$3" 4) s=$(stat -c %s "$3")
  read -r e n d a <<<"$(bits "$3")"
  printf "| %s | %s / %s / %s | %s | %s | %.2fx | %s | %s |\n" "$1" "$e" "$n" "$d" "$a" "$s" \
    "$(python3 -c "print($fp32_bytes / $s)")" "$g" "$b"
  printf ' {"label": "%s", "bytes": %s, "bleu": %s, "kind": "%s"},\n' "$1" "$s" "$g" "$2" >>"$plot.tmp"
}
: >"$plot.tmp"
printf "| plan | embedding / encoder / decoder bits | all weights | .qtm bytes | smaller than FP32 | greedy BLEU | beam 4 BLEU |\n"
printf "| --- | --- | --- | --- | --- | --- | --- |\n"
fp32_greedy=$(bleu "$model" 1)
printf "| FP32 | 32 / 32 / 32 | 32 | %s (safetensors) | 1x | %s | %s |\n" "$fp32_bytes" "$fp32_greedy" "$(bleu "$model" 4)"
printf ' {"label": "FP32", "bytes": %s, "bleu": %s, "kind": "fp32"},\n' "$fp32_bytes" "$fp32_greedy" >>"$plot.tmp"
$q quantize --quiet --model "$model" --config configs/int8-dynamic.json --tokenizer beside --output "$out/int8-dynamic.qtm" 2>/dev/null
row "INT8 dynamic" int8 "$out/int8-dynamic.qtm"
for c in configs/lowbit-4bit.json configs/lowbit-int8-cross-4.json configs/lowbit-int8-cross.json \
         configs/lowbit-3bit.json configs/lowbit-search-2.6.json configs/lowbit-paper.json \
         configs/lowbit-search-2.6-gptq.json configs/lowbit-search-2.4-gptq.json "$@"; do
  name=$(basename "$c" .json)
  extra=()
  if grep -q '"gptq"' "$c"; then
    [ -n "${HESSIANS:-}" ] || { echo "skipping $c: GPTQ needs HESSIANS=hessians.bin" >&2; continue; }
    extra=(--hessians "$HESSIANS")
  fi
  $q quantize --quiet --model "$model" --config "$c" --token-counts "$counts" "${extra[@]}" --tokenizer beside \
    --output "$out/$name.qtm" 2>/dev/null
  kind=binary
  grep -q '"int8"' "$c" && kind=mixed
  row "$name" "$kind" "$out/$name.qtm"
done
{ echo "["; sed '$ s/,$//' "$plot.tmp"; echo "]"; } >"$plot"
rm -f "$plot.tmp"
echo "plot data: $plot (python3 scripts/plot-bleu-size.py $plot docs/bleu-vs-size.svg)" >&2
