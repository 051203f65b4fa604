#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) in ./build-fuzz and runs
# each for SECONDS (default 60), as many at once as there are cores. The
# committed corpus is copied into a scratch directory first, so a run never
# writes into tests/fuzz/. A crash, hang, leak or sanitizer report fails the
# script; the input that caused it is kept in build-fuzz/findings/<harness>/,
# each run's log in build-fuzz/logs/<harness>.log.
#   bash scripts/fuzz.sh [SECONDS] [HARNESS...]      (docs/fuzzing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

bash scripts/setup.sh --fuzz  # clang and libclang-rt-14-dev besides what the build needs

mkdir -p build-fuzz
echo "fuzz: building the harnesses (log: build-fuzz/build.log)" >&2
if ! { CC=clang CXX=clang++ cmake -S . -B build-fuzz -DQTOOL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build build-fuzz -j"$(nproc)" --target fuzzers; } >build-fuzz/build.log 2>&1; then
  grep -E "error|Error" build-fuzz/build.log | head -40 >&2 || tail -40 build-fuzz/build.log >&2
  echo "fuzz: build failed; see build-fuzz/build.log" >&2
  exit 1
fi

harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do harnesses+=("$(basename "$f" .cpp)"); done
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run_one() {
  local h=$1 work="$scratch/$1"
  mkdir -p "$work/corpus" build-fuzz/findings/"$h"
  cp tests/fuzz/corpus/"$h"/* "$work/corpus/" 2>/dev/null || true
  cp tests/fuzz/regressions/"$h"/* "$work/corpus/" 2>/dev/null || true
  # -timeout: one input taking longer is a hang; -rss_limit_mb/-malloc_limit_mb: an
  # allocation a file can make this large is a finding too.
  if build-fuzz/tests/fuzz/"$h" "$work/corpus" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
       -artifact_prefix=build-fuzz/findings/"$h"/ >"$work/log" 2>&1; then
    echo ok >"$work/status"
  else
    echo FAILED >"$work/status"
  fi
}

jobs_at_once=$(nproc)
running=0
for h in "${harnesses[@]}"; do
  [ -x build-fuzz/tests/fuzz/"$h" ] || { echo "fuzz: no harness named $h" >&2; exit 1; }
  echo "fuzz: $h for ${seconds}s" >&2
  run_one "$h" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs_at_once" ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=0
printf '%-22s %8s %12s %9s %8s %8s %7s\n' harness result executions exec/s cov ft corpus
for h in "${harnesses[@]}"; do
  log="$scratch/$h/log"
  status=$(cat "$scratch/$h/status")
  mkdir -p build-fuzz/logs && cp "$log" build-fuzz/logs/"$h".log
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  [ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
  printf '%-22s %8s %12s %9s %8s %8s %7s\n' "$h" "$status" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "${corp:--}"
  if [ "$status" != ok ]; then
    failed=1
    echo "---- $h: last lines of its log (input kept in build-fuzz/findings/$h/)" >&2
    grep -v '^#[0-9]' "$log" | tail -30 >&2
  fi
done
exit $failed
