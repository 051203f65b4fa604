#!/usr/bin/env bash
# Counts the AArch64 instructions qtool-run executes under qemu, per function:
# qemu logs every translated block's instructions (in_asm) and every execution
# of a block (exec, with chaining off so each one is logged); awk multiplies.
# Usage: scripts/arm-insn-count.sh CPU MODEL.qtm INPUT MAX_NEW_TOKENS  (one thread)
# Prints "total N" and the 25 functions with the most instructions. The docs take
# the difference of two runs (MAX_NEW_TOKENS 2 and 12) as the count per token.
set -euo pipefail
cd "$(dirname "$0")/.."
cpu=$1 model=$2 input=$3 tokens=$4
fifo=$(mktemp -u)
mkfifo "$fifo"
trap 'rm -f "$fifo"' EXIT
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64)
OMP_NUM_THREADS=1 "$qemu" -cpu "$cpu" -d in_asm,exec,nochain -D "$fifo" build-arm64/qtool-run --model "$model" \
  --input "$input" --output /dev/null --threads 1 --max-new-tokens "$tokens" --quiet 2>/dev/null &
awk '
  function key(s) { sub(/^0x/, "", s); sub(/:$/, "", s); sub(/^0+/, "", s); return s }
  /^IN:/ { inblk = 1; pc = ""; n = 0; next }
  inblk && /^0x/ { if (pc == "") pc = key($1); n++; next }
  inblk && /^$/ { inblk = 0; if (pc != "") size[pc] = n; next }
  /^Trace/ { split($0, a, "/"); k = key(a[2]); c = size[k]; total += c; by[$NF] += c }
  END {
    printf "total %d\n", total
    for (f in by) printf "%d %s\n", by[f], f | "sort -rn | head -25"
  }' "$fifo"
wait
