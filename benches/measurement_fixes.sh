#!/usr/bin/env bash
# Side by side, the figures issue 18's measurement fixes change, from two builds of phasebench on
# one suite: each run's memory figure (the report's memory column: peak RSS before the fix, run
# memory after) and its process peak RSS; for generations, the time of a whole generation against
# the sum of its own denoising steps (what lies outside them: cache flushes, harness). The builds
# alternate every round so a drift of the machine favours neither; a second arm of the after-build
# (the A/A control) shows how much the figures move by themselves.
#
#   benches/measurement_fixes.sh BEFORE_BINARY AFTER_BINARY [ROUNDS] [SUITE]
#   (defaults: 3 rounds, benches/suites/measurement_fixes.ron)
set -euo pipefail
before=$1
after=$2
rounds=${3:-3}
suite=${4:-benches/suites/measurement_fixes.ron}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq 1 "$rounds"); do
  order=("before:$before" "after:$after" "control:$after")
  if ((round % 2 == 0)); then order=("control:$after" "after:$after" "before:$before"); fi
  for arm in "${order[@]}"; do
    name=${arm%%:*} binary=${arm#*:}
    "$binary" run "$suite" --out "$out/$name-$round" >/dev/null 2>&1 || true
    echo "round $round: $name done" >&2
  done
done
python3 - "$out" "$rounds" <<'PY'
import glob, json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def runs(arm):
    table = {}
    for path in glob.glob(f"{out}/{arm}-*/*/result.json"):
        for run in json.load(open(path))["runs"]:
            table.setdefault(f"{run['workload']}/{run['phase']}@{run['batch_size']}", []).append(run)
    return table
mib = lambda b: f"{b / 2**20:.1f}" if b is not None else "—"
med = lambda xs: statistics.median(xs) if xs else None
def shown_memory(run):
    return run.get("run_memory_bytes") if "run_memory_bytes" in run else run.get("peak_rss_bytes")
arms = {arm: runs(arm) for arm in ("before", "after", "control")}
print("| run | memory shown before (peak RSS) | memory shown after (run memory) | A/A (run memory, second after-build arm) | weights in the phase's dtype | peak RSS after |")
print("|---|---:|---:|---:|---:|---:|")
for label in sorted(arms["after"]):
    b, a, c = arms["before"].get(label, []), arms["after"][label], arms["control"].get(label, [])
    print(f"| {label} | {mib(med([shown_memory(r) for r in b]))} | {mib(med([shown_memory(r) for r in a]))} | "
          f"{mib(med([shown_memory(r) for r in c]))} | {mib(a[0]['param_bytes'])} | {mib(med([r['peak_rss_bytes'] for r in a]))} |")
print()
print("| generation run | build | median generation (ms) | median of its steps' sum (ms) | outside the steps, per generation (ms) |")
print("|---|---|---:|---:|---:|")
for arm in ("before", "after"):
    for label, rs in sorted(arms[arm].items()):
        gens, sums = [], []
        for r in rs:
            if not r.get("generation"):
                continue
            per = r["generation"]["steps_per_generation"]
            for i, g in enumerate(r["generation"]["generation_secs"]):
                gens.append(g)
                sums.append(sum(r["step_secs"][i * per:(i + 1) * per]))
        if gens:
            extra = med([g - s for g, s in zip(gens, sums)])
            print(f"| {label} | {arm} | {med(gens) * 1e3:.2f} | {med(sums) * 1e3:.2f} | {extra * 1e3:.2f} |")
PY
