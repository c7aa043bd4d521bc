#!/usr/bin/env bash
# The GPU verification of issue 10, in one command, on a machine with an NVIDIA GPU, its driver
# and PyTorch for CUDA 13 (no Rust needed: build the binary elsewhere with
# packaging/build-cuda.sh and bring target/cuda/release/phasebench along).
#   1. `phasebench env`: the GPUs, the driver, which CUDA devices map to which NVML GPU;
#   2. suites/gpu.ron, results under OUT/results (report.html beside result.json);
#   3. PyTorch's bf16 (and f16, f32) 4096³ matmul TFLOP/s on the same GPU, timed with CUDA events;
#   4. gpu_compare.py: phasebench's matmul-4096 TFLOP/s per CUDA phase next to PyTorch's (ratio),
#      the energy per step, GPU memory, setup times, the sweep's memory limit and every failure.
#
# Usage: benches/gpu/run.sh [OUT]           (default OUT: ./gpu-verification)
# Env:   PHASEBENCH=path/to/phasebench      (default: target/cuda/release/phasebench)
#        PYTHON=python3                     (an interpreter that imports torch with CUDA)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-gpu-verification}"
mkdir -p "$out"
binary="${PHASEBENCH:-$root/target/cuda/release/phasebench}"
python="${PYTHON:-python3}"
[[ -x "$binary" ]] || { echo "no phasebench binary at $binary (packaging/build-cuda.sh builds it)" >&2; exit 2; }

# cudarc loads the CUDA libraries at run time: use the ones PyTorch's cu13 wheels bring when the
# system has none on the loader path.
torch_libs="$("$python" - <<'PY' 2>/dev/null || true
import pathlib, nvidia
for root in map(pathlib.Path, nvidia.__path__):
    for lib in sorted(root.glob("cu13/lib")) + sorted(root.glob("*/lib")):
        if any(lib.glob("libcublas.so*")) or any(lib.glob("libcurand.so*")) or any(lib.glob("libnvrtc.so*")):
            print(lib)
PY
)"
if [[ -n "$torch_libs" ]]; then
    export LD_LIBRARY_PATH="$(paste -sd: <<<"$torch_libs")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total,power.limit --format=csv | tee "$out/nvidia-smi.csv"
"$binary" env | tee "$out/env.txt"
status=0
"$binary" run "$root/suites/gpu.ron" --out "$out/results" | tee "$out/run.txt" || status=$?
echo "phasebench run exited with $status" | tee -a "$out/run.txt"
"$python" "$root/benches/gpu/torch_matmul.py" | tee "$out/torch.json"
result="$(ls -d "$out"/results/*/ | tail -1)result.json"
"$python" "$root/benches/gpu/gpu_compare.py" "$result" "$out/torch.json" | tee "$out/summary.md"
exit "$status"
