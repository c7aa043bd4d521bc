#!/usr/bin/env bash
# Checks that Hugging Face diffusers loads phasebench's SD3 and Flux diffusers folders as the same
# models candle runs (see flow_agreement.py). Not part of CI: it installs torch, diffusers and
# transformers from PyPI into target/peers-venv.
#
# Usage: benches/peers/flow_agreement.sh   (from anywhere; ~1 min after the pip install)
# Env:   PHASEBENCH=path/to/phasebench      (default: builds and uses target/release/phasebench)
#        PYTHON=python3.11                  (the interpreter the venv is made from)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
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
for case in "diffusion-flow sd3 sd3" "diffusion-flow flux-dev flux" "diffusion-real flux-schnell flux"; do
    read -r suite workload family <<<"$case"
    "$PHASEBENCH" export-weights "$root/suites/$suite.ron" --workload "$workload" --out "$work/$workload" \
        --io "$work/$workload.io.safetensors" --batch 2 >/dev/null
    "$venv/bin/python" "$root/benches/peers/flow_agreement.py" --folder "$work/$workload" \
        --io "$work/$workload.io.safetensors" --family "$family" 2>&1 | grep -v -e "config attributes" -e "Loading weights" -e "bos_token_id"
done
