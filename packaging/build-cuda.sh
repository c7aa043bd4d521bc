#!/usr/bin/env bash
# Builds phasebench with CUDA (`--features cuda`) on a machine without a GPU, a driver or a CUDA
# toolkit: the CUDA 13.0 compiler, headers and static runtime come from PyPI wheels (~300 MB).
# The binary loads the CUDA driver and libraries at run time (cudarc "dynamic-loading" instead
# of candle's hard-wired "dynamic-linking", through a patched copy of candle-core), so it starts
# on every machine: without a driver its CUDA phases fail with "no CUDA driver found" and
# `phasebench env` says so; with one it uses the GPU.
#
# Usage: packaging/build-cuda.sh [COMPUTE_CAP]   (default 90: H100/H200; 80 for A100, 89 for L4/L40)
# Output: target/cuda/release/phasebench (CARGO_TARGET_DIR/cuda when that is set).
# Needs: cargo, python3 with venv, gcc ≤ 12 (nvcc 13.0's limit), PyPI and crates.io.
# With a normal CUDA install, `cargo build --release --features cuda` is enough (README).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cap="${1:-90}"
[[ "$cap" =~ ^[0-9]+$ ]] || { echo "compute capability must be a number like 90, got '$cap'" >&2; exit 2; }
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/cuda-toolchain"
mkdir -p "$work"

# 1. CUDA 13.0 nvcc, headers and runtime from PyPI (their PTX 9.0 is what a CUDA 13.0 driver takes).
if [[ ! -x "$work/venv/bin/pip" ]]; then python3 -m venv "$work/venv"; fi
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
    nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
    nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85
nv="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nvidia/cu13"
[[ -x "$nv/bin/nvcc" ]] || { echo "nvcc not found in $nv/bin after installing the wheels" >&2; exit 1; }

# 2. candle-core, exactly the version in Cargo.lock, with cudarc loaded at run time.
candle_version="$(awk '/^name = "candle-core"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$root/Cargo.lock")"
candle="$work/candle-core-$candle_version"
if [[ ! -f "$candle/.phasebench-patched" ]]; then
    (cd "$root" && cargo fetch --quiet)
    source_dir="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"candle-core-$candle_version" | head -1)"
    rm -rf "$candle" && cp -r "$source_dir" "$candle"
    sed -i 's/"dynamic-linking",/"dynamic-loading",/' "$candle/Cargo.toml"
    grep -q '"dynamic-loading"' "$candle/Cargo.toml" \
        || { echo "candle-core $candle_version no longer names cudarc's dynamic-linking; update this script" >&2; exit 1; }
    touch "$candle/.phasebench-patched"
fi

# 3. The kernels link `-lcudart`: a linker script of that name points at the static runtime, so
#    the binary needs no libcudart.so at load time.
mkdir -p "$work/cudart-static"
echo "INPUT($nv/lib/libcudart_static.a)" >"$work/cudart-static/libcudart.so"

export CUDA_ROOT="$nv" CUDA_HOME="$nv" CUDA_PATH="$nv" PATH="$nv/bin:$PATH"
export CUDA_COMPUTE_CAP="$cap" CUDARC_CUDA_VERSION=13000
export LIBRARY_PATH="$work/cudart-static${LIBRARY_PATH:+:$LIBRARY_PATH}"
cd "$root"
# The patch turns candle-core into a path dependency in Cargo.lock; keep the repository's lock file.
cp Cargo.lock "$work/Cargo.lock.saved"
trap 'cp "$work/Cargo.lock.saved" "$root/Cargo.lock"' EXIT
CARGO_TARGET_DIR="$target/cuda" cargo build --release --features cuda \
    --config "patch.crates-io.candle-core.path=\"$candle\""
echo "built $target/cuda/release/phasebench (CUDA, compute capability $cap)"
