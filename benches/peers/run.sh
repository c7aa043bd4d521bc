#!/usr/bin/env bash
# phasebench's workloads next to numpy and PyTorch (CPU, eager) on this machine; see peers.py.
# Not part of CI: it installs numpy, safetensors and torch from PyPI into target/peers-venv
# (about 5 GB: PyPI's torch wheel brings the CUDA libraries even for CPU use).
#
# Usage: benches/peers/run.sh [ROUNDS]      (from anywhere; default 3 rounds, ~2 min each)
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
"$venv/bin/pip" install --quiet --disable-pip-version-check numpy==2.4.6 safetensors==0.8.0 torch==2.15.0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" "$root/benches/peers/peers.py" --binary "$PHASEBENCH" --work "$work" --rounds "$rounds"
