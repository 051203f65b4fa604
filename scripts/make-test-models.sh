#!/usr/bin/env bash
# Trains the CPU test models of scripts/make-test-models.py (gelu/relu/gelu_new
# Marian checkpoints with their Hugging Face greedy references) into
# build/test-models, in a Python environment of its own, build/venv-models,
# made and filled from PyPI when missing. Arguments go to the script:
#   scripts/make-test-models.sh [--only NAME] [--out DIR] [--seconds 300 | --steps N] [--threads 2]
#
# torch from PyPI: the Linux x86_64 wheels on PyPI are the CUDA build; the
# "+cpu" builds exist only on the PyTorch index, and PyPI accepts no local
# version labels such as +cpu, so no CPU-only variant is to be had here.
# `pip install --no-deps torch` plus its pure-Python dependencies does not
# work: `import torch` fails (ImportError: libcufile.so.0), since libtorch
# links the CUDA libraries even when no GPU is used. So torch is installed
# with its dependencies: the nvidia-* / cuda-* wheels make build/venv-models
# about 4.9 GB, and the whole install took about 2 minutes here (PyPI is fast
# from this machine); only the disk space is a cost. torch then runs on the
# CPU only (torch.cuda.is_available() is False). The versions are pinned:
# torch and transformers are those the kit's reference models were made with
# (../shared/models/*/reference/scores.json), sacreBLEU is the kit's, so
# reruns give the same ids and scores.
# Debian's own python3 needs the python3-venv package for `python3 -m venv`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/venv-models
python=${PYTHON:-python3}
pkgs=(torch==2.11.0 transformers==5.17.0 sentencepiece==0.2.3 sacrebleu==2.6.0 safetensors==0.8.0)
if ! "$venv/bin/python" -c "import torch, transformers, sentencepiece, sacrebleu, safetensors" 2>/dev/null; then
  if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c "import ensurepip" 2>/dev/null; then
    echo "make-test-models: '$python -m venv' is missing; on Debian: apt-get install python3-venv" >&2
    exit 1
  fi
  echo "make-test-models: making $venv (${pkgs[*]}; about 4.6 GB with torch's CUDA libraries)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${pkgs[@]}"
fi
exec "$venv/bin/python" scripts/make-test-models.py "$@"
