# Sourced by the scripts that make models with torch (make-test-models.sh,
# make-base-model.sh): venv_models NAME makes sure build/venv-models holds the
# pinned packages, making and filling it from PyPI when missing, and sets
# $venv_python. NAME prefixes its messages. Run from the repo root.
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
venv_models() {
  local name=$1 venv=build/venv-models python=${PYTHON:-python3}
  local pkgs=(torch==2.11.0 transformers==5.17.0 sentencepiece==0.2.3 sacrebleu==2.6.0 safetensors==0.8.0)
  venv_python=$venv/bin/python
  "$venv_python" -c "import torch, transformers, sentencepiece, sacrebleu, safetensors" 2>/dev/null && return
  if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c "import ensurepip" 2>/dev/null; then
    echo "$name: '$python -m venv' is missing; on Debian: apt-get install python3-venv" >&2
    exit 1
  fi
  echo "$name: making $venv (${pkgs[*]}; about 4.6 GB with torch's CUDA libraries)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${pkgs[@]}"
}
