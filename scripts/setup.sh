#!/usr/bin/env bash
# Installs what qtool needs from Debian 12 packages, only when something is missing.
# usage: scripts/setup.sh [--test] [--fuzz] [--python]
# --test also installs what only the test suite needs: Debian's chromium, for
# the report's browser test (an 80 MB download, 290 MB installed, with its
# libraries); building and running qtool never need it, so demo.sh and
# build.sh leave it out and test.sh asks for it.
# --python also installs what `pip install .` (the Python module) needs to
# build: pybind11's headers, Python's headers and venv; --test implies it (the
# Python module's tests build it in a venv).
# --fuzz also installs clang and its libFuzzer runtime (scripts/fuzz.sh).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcli11-dev nlohmann-json3-dev libhdf5-dev
      libeigen3-dev libdnnl-dev doctest-dev libsentencepiece-dev)
for arg in "$@"; do
  case "$arg" in
    --test) pkgs+=(chromium pybind11-dev python3-dev python3-venv) ;;
    --python) pkgs+=(pybind11-dev python3-dev python3-venv) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "setup: unknown option $arg (known: --test, --fuzz, --python)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
