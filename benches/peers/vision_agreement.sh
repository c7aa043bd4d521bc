#!/usr/bin/env bash
# Checks that Hugging Face transformers (ViT, CLIP and SigLIP vision towers) and timm (ConvNeXt,
# ResNet) load phasebench's seeded vision encoders in their checkpoints' names and compute the
# same outputs (see vision_agreement.py). Not part of CI: it installs torch, transformers and timm
# from PyPI into target/peers-venv.
#
# Usage: benches/peers/vision_agreement.sh   (from anywhere; ~1 min after the pip install)
# Env:   PHASEBENCH=path/to/phasebench        (default: builds and uses target/release/phasebench)
#        PYTHON=python3.11                    (the interpreter the venv is made from)
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
    transformers==5.24.0 timm==1.0.31
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for case in "vit vit" "clip clip" "siglip siglip" "convnext convnext" "resnet18 resnet"; do
    read -r workload family <<<"$case"
    "$PHASEBENCH" export-weights "$root/suites/vision-encoders.ron" --workload "$workload" \
        --out "$work/$workload.safetensors" --io "$work/$workload.io.safetensors" --batch 2 >/dev/null
    "$venv/bin/python" "$root/benches/peers/vision_agreement.py" --weights "$work/$workload.safetensors" \
        --io "$work/$workload.io.safetensors" --family "$family" 2>&1 | grep -v "Loading weights"
done
