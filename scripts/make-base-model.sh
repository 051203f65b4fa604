#!/usr/bin/env bash
# Makes the untrained model of real OPUS-MT size (scripts/make-base-model.py,
# docs/base-model.md) into build/base-model, and Hugging Face's greedy
# reference on it into tests/e2e/base-model, with torch and transformers from
# build/venv-models (made from PyPI when missing: scripts/venv-models.sh).
# About a minute; needs the kit (../shared) for the training text of its
# SentencePiece models. Arguments go to the script:
#   scripts/make-base-model.sh [--output DIR] [--reference-dir DIR] [--lines 20] [--threads 2]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv-models.sh
venv_models make-base-model
exec "$venv_python" scripts/make-base-model.py "$@"
