#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md, in one go (about 25 minutes on 2 cores):
#   1. cargo bench --bench harness            overhead, fidelity, suite parse, export (and its
#                                             fidelity part again with RAYON_NUM_THREADS=1)
#   2. cargo bench --bench telemetry_overhead sampler CPU at 100 ms and 10 ms
#   3. cargo bench --bench editor_validation  the editor's check per keystroke (before/now, A/A)
#      benches/editor_typing.sh               frames while typing in the window (Xvfb, xdotool)
#      cargo bench --bench gui_overhead       app vs headless, frame times, startup (under Xvfb)
#   4. benches/peers/run.sh                   numpy / PyTorch eager, output agreement
#   5. phasebench run benches/peers/options.ron, with 1 candle thread and with the default
#   6. benches/peers/profile.sh                where the peers' Transformer and ConvNet spend time (perf)
# Each prints a Markdown table (min / median / max over its rounds); the logs, with the machine,
# date and commit, go to target/bench-logs/<time>/.
#
# Usage: benches/run-all.sh [ROUNDS]   (default 5 for the Rust benches, 3 for the peers)
# Needs: a Rust toolchain, Xvfb (xvfb-run), python3 with venv and PyPI access for the peers.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rounds="${1:-5}"
peer_rounds=$(( rounds < 3 ? rounds : 3 ))
logs="target/bench-logs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$logs"
target="${CARGO_TARGET_DIR:-$root/target}"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "kernel: $(uname -r)"
    echo "rustc: $(rustc --version)"
} | tee "$logs/machine.txt"

section() { printf '\n## %s\n\n' "$1" | tee -a "$logs/summary.md"; }
tables() { grep -E '^\|' "$1" | tee -a "$logs/summary.md"; }

cargo build --release --quiet
section "harness: overhead, fidelity, parse, export ($rounds rounds)"
cargo bench --quiet --bench harness -- "$rounds" >"$logs/harness.txt" 2>&1 || { cat "$logs/harness.txt"; exit 1; }
tables "$logs/harness.txt"

section "fidelity again with one candle thread (quieter on a small machine; $rounds rounds)"
RAYON_NUM_THREADS=1 cargo bench --quiet --bench harness -- "$rounds" >"$logs/harness-1-thread.txt" 2>&1 \
    || { cat "$logs/harness-1-thread.txt"; exit 1; }
grep -E '^\| (fidelity|control|plain-loop|workload|---|Every|[A-Z])' "$logs/harness-1-thread.txt" | tee -a "$logs/summary.md"

section "telemetry sampler (10 s per interval, 3 rounds)"
cargo bench --quiet --bench telemetry_overhead -- 10 3 >"$logs/telemetry.txt" 2>&1 || { cat "$logs/telemetry.txt"; exit 1; }
tables "$logs/telemetry.txt"

section "editor: one check per keystroke, memory read each time against measured once ($rounds rounds)"
cargo bench --quiet --bench editor_validation -- "$rounds" >"$logs/editor.txt" 2>&1 || { cat "$logs/editor.txt"; exit 1; }
tables "$logs/editor.txt"

section "editor: frames while typing in the window ($rounds rounds)"
benches/editor_typing.sh "$target/release/phasebench" "$rounds" >"$logs/editor-typing.txt" 2>&1 \
    || { cat "$logs/editor-typing.txt"; exit 1; }
tables "$logs/editor-typing.txt"

section "app: against headless, frame times, startup ($rounds rounds)"
xvfb-run -a -s "-screen 0 1600x1000x24" cargo bench --quiet --bench gui_overhead -- "$rounds" \
    >"$logs/gui.txt" 2>&1 || { cat "$logs/gui.txt"; exit 1; }
tables "$logs/gui.txt"

section "peers: numpy and PyTorch eager ($peer_rounds rounds)"
PHASEBENCH="$target/release/phasebench" benches/peers/run.sh "$peer_rounds" >"$logs/peers.txt" 2>&1 \
    || { cat "$logs/peers.txt"; exit 1; }
tables "$logs/peers.txt"

for threads in 1 default; do
    section "CPU options (dtype, batch), candle threads: $threads"
    out="$(mktemp -d)"
    if [[ "$threads" == default ]]; then
        "$target/release/phasebench" run benches/peers/options.ron --out "$out" >"$logs/options-$threads.txt" 2>&1 || true
    else
        RAYON_NUM_THREADS="$threads" "$target/release/phasebench" run benches/peers/options.ron --out "$out" \
            >"$logs/options-$threads.txt" 2>&1 || true
    fi
    "$target/release/phasebench" report "$out"/*/result.json --md "$logs/options-$threads.md" >/dev/null
    grep -E '^(\||## |- )' "$logs/options-$threads.md" | head -60 | tee -a "$logs/summary.md"
    rm -rf "$out"
done
section "profiles of the peers' Transformer and ConvNet (perf)"
if command -v perf >/dev/null; then
    PHASEBENCH="$target/release/phasebench" benches/peers/profile.sh 2>&1 | tee "$logs/profile.txt" >>"$logs/summary.md"
else
    echo "perf is not installed (Debian: linux-perf); skipped" | tee -a "$logs/summary.md"
fi
echo
echo "all tables: $logs/summary.md"
