#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# the unit tests and the end-to-end checks (label e2e) on the reference kit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test   # adds chromium for the report's browser test
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 1800 "$@"
(cd .. && bash scripts/test-sanitizers.sh)  # the suite again under ASan+UBSan and TSan (docs/loader-rules.md)
bash ../scripts/test-arm.sh  # aarch64 runtime: NEON kernels and translations under qemu (README "ARM")
(cd .. && bash scripts/fuzz.sh 30)  # every libFuzzer harness for 30 s (docs/fuzzing.md)
