#!/usr/bin/env bash
# phasebench's text generation next to Hugging Face transformers (PyTorch CPU) and llama.cpp
# (llama-cpp-python) on the same seeded weights; see llm_peers.py. Not part of CI: it installs
# torch, transformers and llama-cpp-python (built from source: a C++ compiler, ~10 min on two
# cores) from PyPI into target/peers-venv.
#
# Usage: benches/peers/llm.sh [ROUNDS]      (from anywhere; default 3 rounds, ~3 min each)
# Env:   PHASEBENCH=path/to/phasebench       (default: builds and uses target/release/phasebench)
#        PYTHON=python3.11                   (the interpreter the venv is made from)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${1:-3}"
target="${CARGO_TARGET_DIR:-$root/target}"
if [[ -z "${PHASEBENCH:-}" ]]; then
    (cd "$root" && cargo build --release --quiet)
    PHASEBENCH="$target/release/phasebench"
fi
venv="$target/peers-venv"
if [[ ! -x "$venv/bin/python" ]]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
# Pinned, so a later run compares against the same peers.
"$venv/bin/pip" install --quiet --disable-pip-version-check numpy==2.4.6 safetensors==0.8.0 torch==2.15.0 \
    transformers==5.24.0 llama-cpp-python==0.3.16
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" "$root/benches/peers/llm_peers.py" --binary "$PHASEBENCH" --work "$work" --rounds "$rounds"
