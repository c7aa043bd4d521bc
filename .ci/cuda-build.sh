#!/usr/bin/env bash
# The CUDA binary on a machine without any NVIDIA software: builds it with
# packaging/build-cuda.sh, then checks that it loads no CUDA library at start, that `env` says
# there is no CUDA driver, that it runs a CPU suite exactly as the normal build does, and that a
# CUDA phase fails cleanly with its reason while the CPU runs complete.
# Usage: .ci/cuda-build.sh NORMAL_BINARY
set -euo pipefail
normal=${1:?the normal release binary}
target="${CARGO_TARGET_DIR:-target}"
packaging/build-cuda.sh 90
cuda="$target/cuda/release/phasebench"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ldd "$cuda" | grep -E 'lib(cuda|cublas|curand|cudart|nvrtc)'; then
    echo "the CUDA binary links CUDA libraries at load time; it would not start without a driver" >&2
    exit 1
fi
"$cuda" env | tee "$work/env.txt"
grep -q "features: .*cuda" "$work/env.txt" || { echo "env does not list the cuda feature" >&2; exit 1; }
grep -q "cuda       compiled in, unusable here: no CUDA driver found" "$work/env.txt" \
    || { echo "env does not say that no CUDA driver was found" >&2; exit 1; }

# The CPU suite: the same runs, all completed, in both builds.
summary() { grep -oE '"(workload|phase|batch_size|status)": ("[^"]*"|[0-9]+)' "$1" | paste -sd' ' ; }
for build in normal cuda; do
    binary=$normal; [[ $build == cuda ]] && binary=$cuda
    RAYON_NUM_THREADS=1 "$binary" run tests/fixtures/valid_suites/tiny.ron --out "$work/$build" >/dev/null
    summary "$work/$build"/*/result.json >"$work/$build.runs"
done
cmp -s "$work/normal.runs" "$work/cuda.runs" || {
    echo "the CUDA build ran the CPU suite differently:" >&2; diff "$work/normal.runs" "$work/cuda.runs" >&2; exit 1; }
echo "CPU suite: the same runs and statuses as the normal build"

# A CUDA phase next to a CPU one: the CPU runs complete, the CUDA ones fail with the reason, exit 1.
cat >"$work/mixed.ron" <<'SUITE'
Suite(version: 1, name: "cpu-and-cuda",
    settings: Settings(warmup_steps: 1, min_steps: 3, max_steps: 10, min_secs: 0.0, max_secs: 1.0, seed: 1),
    workloads: [Workload(name: "mlp", model: Mlp(input: 16, hidden: 32, layers: 2, output: 4))],
    phases: [Phase(name: "cpu", device: Cpu), Phase(name: "gpu", device: Cuda(0))],
    baseline: "cpu")
SUITE
set +e
"$cuda" run "$work/mixed.ron" --out "$work/mixed" >"$work/mixed.txt" 2>&1
code=$?
set -e
cat "$work/mixed.txt"
[[ $code == 1 ]] || { echo "expected exit code 1 (a failed run), got $code" >&2; exit 1; }
result=$(ls "$work"/mixed/*/result.json)
grep -q 'no CUDA driver found' "$result" || { echo "the CUDA run's failure does not say why" >&2; exit 1; }
[[ $(grep -c '"Completed"' "$result") -ge 1 ]] || { echo "the CPU run did not complete" >&2; exit 1; }
# The shipped GPU suites are valid for the CUDA build too.
"$cuda" validate suites/gpu.ron suites/cpu-vs-cuda.ron
echo "CUDA build without a GPU: starts, says why CUDA is unusable, CPU runs as normal, CUDA phases fail cleanly"
