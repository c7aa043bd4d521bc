#!/usr/bin/env bash
# Where a candle step spends its time: records the peers' Transformer and ConvNet (batch 8, f32,
# CPU) under `perf` and prints each one's hottest symbols. The figures behind BENCHMARKS.md's
# "Where the gap to PyTorch is". Needs `perf` (Debian: linux-perf).
#
# Usage: benches/peers/profile.sh    Env: PHASEBENCH (default target/release/phasebench, built if missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
binary="${PHASEBENCH:-${CARGO_TARGET_DIR:-$root/target}/release/phasebench}"
[[ -x "$binary" ]] || (cd "$root" && cargo build --release --quiet)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for model in \
    "transformer:Transformer(layers: 2, hidden: 256, heads: 4, seq_len: 64, ffn_mult: 4)" \
    "convnet:ConvNet(in_channels: 3, image_size: 32, channels: 32, blocks: 2, classes: 10)"; do
    name="${model%%:*}"
    cat >"$work/$name.ron" <<SUITE
Suite(version: 1, name: "profile-$name",
    settings: Settings(warmup_steps: 5, min_steps: 30, max_steps: 2000, min_secs: 3.0, max_secs: 10.0, seed: 1),
    workloads: [Workload(name: "$name", model: ${model#*:}, batch_sizes: [8])],
    phases: [Phase(name: "f32", dtype: F32)], baseline: "f32")
SUITE
    perf record -q -F 999 -g -o "$work/$name.perf" "$binary" run "$work/$name.ron" --out "$work/out" >/dev/null 2>&1
    echo "== $name: hottest symbols (self time, all threads)"
    perf report -i "$work/$name.perf" --no-children --sort symbol --stdio 2>/dev/null \
        | grep -E '^ +[0-9.]+%' | head -12 | sed -E 's/ +- +- *$//'  || true
done
