#!/usr/bin/env bash
# phasebench's image generation next to Hugging Face diffusers (PyTorch CPU) on the same seeded
# Stable Diffusion weights; see diffusion_peers.py. Not part of CI: it installs torch, diffusers and
# transformers from PyPI into target/peers-venv.
#
# Usage: benches/peers/diffusion.sh [ROUNDS]   (from anywhere; default 3 rounds, ~1 min each)
# Env:   PHASEBENCH=path/to/phasebench          (default: builds and uses target/release/phasebench)
#        PYTHON=python3.11                      (the interpreter the venv is made from)
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
    transformers==5.24.0 diffusers==0.42.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The pipeline folder and candle's reference outputs, with one round of the fidelity bench.
(cd "$root" && cargo bench --quiet --bench diffusion_fidelity -- 1 --keep "$work/pipeline")
"$venv/bin/python" "$root/benches/peers/diffusion_peers.py" --binary "$PHASEBENCH" --folder "$work/pipeline" \
    --work "$work" --rounds "$rounds"
