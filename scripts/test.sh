#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# the unit tests and the end-to-end checks (label e2e) on the reference kit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 1800 "$@"
(cd .. && bash scripts/fuzz.sh 30)  # every libFuzzer harness for 30 s (docs/fuzzing.md)
