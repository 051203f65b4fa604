#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest:
# the unit tests and the end-to-end checks (label e2e) on the reference kit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 1800 "$@"
bash ../scripts/test-arm.sh  # aarch64 runtime: NEON kernels and translations under qemu (README "ARM")
