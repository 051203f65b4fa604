#!/usr/bin/env bash
# usage: run.sh SOURCE_DIR BUILD_DIR QTOOL_BINARY
# `pip install .` of the repository into a venv in the build directory (the
# build backend comes from PyPI; CMake's build directory is kept there too, so
# a second run only relinks), then the unittest tests in tests/python against
# `qtool translate`'s output on the tiny model's first 50 test lines, and
# examples/python/translate.py on the same lines.
set -euo pipefail
src="$1" build="$2" qtool="$3"
work="$build/tests/python"
venv="$work/venv"
mkdir -p "$work"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check \
       --config-settings=build-dir="$work/cmake-build" "$src" >"$work/pip.log" 2>&1; then
  tail -40 "$work/pip.log" >&2
  echo "pip install failed; see $work/pip.log" >&2
  exit 1
fi
head -50 "$src/data/ddtp-en-de/test.en" >"$work/src.en"
"$qtool" translate --model "$src/models/ddtp-en-de-tiny" --input "$work/src.en" --output "$work/want.de" --quiet 2>/dev/null
export QTOOL_TEST_MODEL="$src/models/ddtp-en-de-tiny" QTOOL_TEST_SOURCE="$work/src.en" QTOOL_TEST_WANT="$work/want.de"
export QTOOL_TEST_SCRATCH="$work" QTOOL_BINARY="$qtool"
# Run from outside the repository so `import qtool` is the installed module.
cd "$work"
"$venv/bin/python" -m unittest discover -s "$src/tests/python" -p 'test_*.py' -v
"$venv/bin/python" "$src/examples/python/translate.py" "$src/models/ddtp-en-de-tiny" "$work/src.en" --threads 2 \
  >"$work/example.de"
cmp "$work/want.de" "$work/example.de" || { echo "examples/python/translate.py differs from qtool translate" >&2; exit 1; }
echo "examples/python/translate.py = qtool translate on 50 lines"
