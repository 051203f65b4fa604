#!/usr/bin/env bash
# qtool against CTranslate2 on one Marian checkpoint, FP32 and INT8, the two run
# in turn on the same input, batch and threads (docs/benchmarks.md, "qtool
# against CTranslate2"). Not part of CI. Arguments go to scripts/bench_ct2.py:
#   scripts/bench-ct2.sh [--model DIR] [--input FILE] [--runs 3] [--warmup 1]
#       [--settings b32-t1,b32-t2,b1-t1,b1-t2,best] [--precisions fp32,int8]
#       [--lines N] [--batch1-lines 300] [--qtm FILE] [--ct2-env NAME=VALUE] [--out DIR]
# Defaults: the kit's ddtp-en-de-small (../shared) and all of its test.en; results
# in build/bench-ct2/<model folder name>/ (table.md, results.json).
#
# The Python environment, build/venv-ct2, is made here when missing: ctranslate2
# and sentencepiece from PyPI, and torch + transformers for the conversion
# (ct2-transformers-converter loads the checkpoint through transformers). When
# build/venv-models (scripts/make-test-models.sh) already has torch and
# transformers for the same Python, venv-ct2 reads them from there (a .pth file)
# instead of installing them again: PyPI's Linux torch is the CUDA build, about
# 4.6 GB with its nvidia-* wheels (see make-test-models.sh; no CPU-only torch is
# on PyPI); it runs on the CPU only. Versions are pinned: transformers and torch
# are the kit's (its reference translations were made with them).
# QTOOL=path uses another qtool binary; without one, build/qtool is built when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/venv-ct2
python=${PYTHON:-python3}
ct2_pkgs=(ctranslate2==4.8.5 sentencepiece==0.2.3)
hf_pkgs=(torch==2.11.0 transformers==5.17.0 sentencepiece==0.2.3 safetensors==0.8.0)
ready() { "$venv/bin/python" -c "import ctranslate2, sentencepiece, torch, transformers" 2>/dev/null; }

if ! ready; then
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c "import ensurepip" 2>/dev/null; then
      echo "bench-ct2: '$python -m venv' is missing; on Debian: apt-get install python3-venv" >&2
      exit 1
    fi
    echo "bench-ct2: making $venv" >&2
    mkdir -p build
    "$python" -m venv "$venv"
  fi
  pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
  "${pip[@]}" "${ct2_pkgs[@]}"
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  rm -f "$site/qtool-venv-models.pth"
  models=build/venv-models/bin/python
  if [ -x "$models" ] && "$models" -c "import torch, transformers" 2>/dev/null &&
    [ "$("$models" -c 'import sys; print(sys.version_info[:2])')" = "$("$venv/bin/python" -c 'import sys; print(sys.version_info[:2])')" ]; then
    echo "bench-ct2: using torch and transformers of build/venv-models" >&2
    "$models" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' >"$site/qtool-venv-models.pth"
  fi
  if ! ready; then
    rm -f "$site/qtool-venv-models.pth"
    echo "bench-ct2: installing ${hf_pkgs[*]} into $venv (about 4.6 GB with torch's CUDA libraries)" >&2
    "${pip[@]}" "${hf_pkgs[@]}"
  fi
  ready || { echo "bench-ct2: $venv cannot import ctranslate2, sentencepiece, torch and transformers" >&2; exit 1; }
fi

qtool=${QTOOL:-build/qtool}
if [ -z "${QTOOL:-}" ] && [ ! -x "$qtool" ]; then
  bash scripts/build.sh
fi
exec "$venv/bin/python" scripts/bench_ct2.py --qtool "$qtool" "$@"
