#!/usr/bin/env bash
# Every figure of BENCHMARKS.md §11 in one go (about 70 minutes on the 2-vCPU VM: 16 + 16 + 33 + 2; nothing else
# may run meanwhile): false alarms of identical phases at ~2 ms and ~90 ms steps (sequential
# against interleaved, benches/sensitivity.sh), power against real slowdowns of 2/3/5/10 %
# (benches/power.rs), and same-code regressions between saved results (one against several per
# side, benches/regression_noise.sh). Before and after each part it reads the CPU time the
# hypervisor stole from this VM (/proc/stat), one of the noise sources no schedule can remove.
#
#   benches/sensitivity_all.sh [BINARY] [OUT_DIR]
#   (defaults: target/release/phasebench, a new temporary directory; each part's table is
#    written to OUT_DIR/<part>.md and printed)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/phasebench}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
cargo build --release --quiet
cargo bench --bench power --no-run --quiet 2>/dev/null

cpu_times() { awk '/^cpu / { total = 0; for (i = 2; i <= NF; i++) total += $i; print total, $9 }' /proc/stat; }

# part NAME COMMAND...: runs one part, its table to OUT_DIR/NAME.md, with its wall time and the
# share of CPU time stolen meanwhile.
part() {
  local name=$1 start_total start_steal end_total end_steal began
  shift
  read -r start_total start_steal <<<"$(cpu_times)"
  began=$(date +%s)
  "$@" >"$out/$name.md"
  read -r end_total end_steal <<<"$(cpu_times)"
  awk -v n="$name" -v s=$(($(date +%s) - began)) -v t=$((end_total - start_total)) -v st=$((end_steal - start_steal)) \
    'BEGIN { printf "\n%s: %d s, CPU time stolen by the hypervisor %.2f %%\n", n, s, (t > 0 ? 100 * st / t : 0) }' |
    tee -a "$out/$name.md"
  cat "$out/$name.md"
}

part aa-2ms benches/sensitivity.sh "$binary" 20 10 "MatMul(m: 512, n: 512, k: 512)" 2.0
part aa-90ms benches/sensitivity.sh "$binary" 10 5 "MatMul(m: 2048, n: 2048, k: 1536)" 6.0
part power cargo bench --quiet --bench power -- 50 2.5 20 0,0.01
part regressions benches/regression_noise.sh "$binary" "" 12 "2% 5% 10% 15% 20%" 3
echo "tables in $out"
