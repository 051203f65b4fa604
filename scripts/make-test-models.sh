#!/usr/bin/env bash
# Trains the CPU test models of scripts/make-test-models.py (gelu/relu/gelu_new
# Marian checkpoints with their Hugging Face greedy references) into
# build/test-models, in a Python environment of its own, build/venv-models,
# made and filled from PyPI when missing (scripts/venv-models.sh). Arguments go to the script:
#   scripts/make-test-models.sh [--only NAME] [--out DIR] [--seconds 300 | --steps N] [--threads 2]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv-models.sh
venv_models make-test-models
exec "$venv_python" scripts/make-test-models.py "$@"
