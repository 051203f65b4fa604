#!/usr/bin/env bash
# Installs what is missing, then configures and builds qtool in ./build (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p build
echo "building qtool (log: build/build.log)" >&2
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j"$(nproc)"; } >build/build.log 2>&1; then
  grep -E "error|Error" build/build.log | head -40 >&2 || tail -40 build/build.log >&2
  echo "build failed; see build/build.log" >&2
  exit 1
fi
