#!/usr/bin/env bash
# How often does a comparison of identical phases come out "faster" or "slower"? Sequential
# (each phase one contiguous run, step-level statistics) against interleaved rounds (the
# default), side by side in one run of this script: REPEATS runs of an A/A suite per mode, the
# modes alternating so a drift of the machine favours neither. The suite has a baseline and
# COPIES identical f32 phases under other names, so each run yields COPIES same-code comparisons.
# Prints, per mode: false alarms (verdicts other than no change / equivalent / inconclusive) with
# a 95 % Clopper-Pearson interval, how often the interval covers 1.0, the verdicts, and for
# interleaved rounds the median measured seconds until the group stopped and its resolution.
#
#   benches/sensitivity.sh [BINARY] [REPEATS] [COPIES] [MODEL] [SECS]
#   (defaults: target/release/phasebench, 40, 5, "MatMul(m: 512, n: 512, k: 512)" — about 2 ms
#    a step on the 2-vCPU VM —, 2.0 seconds per phase, so the defaults take ~20 min; for the slow
#    steps, "MatMul(m: 2048, n: 2048, k: 1536)" — about 100 ms — with 10 repeats and 6 s)
set -euo pipefail
binary=${1:-target/release/phasebench}
repeats=${2:-40}
copies=${3:-5}
model=${4:-MatMul(m: 512, n: 512, k: 512)}
secs=${5:-2.0}
out=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$out"' EXIT

suite() { # suite MODE SEED MIN_SECS: the A/A suite in MODE (Sequential | Interleaved())
  local phases='Phase(name: "a", dtype: F32)' copy
  for copy in $(seq 1 "$copies"); do phases="$phases, Phase(name: \"copy$copy\", dtype: F32)"; done
  cat <<EOF
Suite(
    version: 1,
    name: "aa-$1",
    description: "Identical phases: every verdict but no change / equivalent / inconclusive is a false alarm.",
    settings: Settings(warmup_steps: 5, min_steps: 5, max_steps: 1000000, min_secs: $3, max_secs: $secs,
                       seed: $2, noise_threshold: 0.02, schedule: $1),
    workloads: [Workload(name: "w", model: $model)],
    phases: [$phases],
    baseline: "a",
)
EOF
}

for i in $(seq 1 "$repeats"); do
  # Sequential runs measure SECS per phase; interleaved groups may stop early once decided
  # (min_secs 0.2 per phase), within the same SECS per phase.
  order=("sequential:Sequential:$secs" "interleaved:Interleaved():0.2")
  if ((i % 2 == 0)); then order=("interleaved:Interleaved():0.2" "sequential:Sequential:$secs"); fi
  for arm in "${order[@]}"; do
    IFS=: read -r name mode min_secs <<<"$arm"
    suite "$mode" "$i" "$min_secs" >"$out/$name-$i.ron"
    "$binary" run "$out/$name-$i.ron" --out "$out/$name-$i" >/dev/null 2>&1 || true
  done
  echo "repeat $i of $repeats done" >&2
done

python3 - "$out" <<'PY'
import glob, json, math, statistics, sys
out = sys.argv[1]

def clopper_pearson(k, n, alpha=0.05):
    """Exact binomial interval by bisection on the binomial CDF."""
    def cdf(x, p):
        return sum(math.comb(n, i) * p**i * (1 - p)**(n - i) for i in range(0, x + 1))
    def solve(f):
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) else (lo, mid)
        return (lo + hi) / 2
    low = 0.0 if k == 0 else solve(lambda p: 1 - cdf(k - 1, p) < alpha / 2)
    high = 1.0 if k == n else solve(lambda p: cdf(k, p) > alpha / 2)
    return low, high

print("| mode | comparisons | false alarms | rate [95 % CI] | CI covers 1.0 | verdicts | median seconds measured per group | median resolution |")
print("|---|---:|---:|---|---:|---|---:|---:|")
for mode in ("sequential", "interleaved"):
    verdicts, covers, secs, resolutions = [], [], [], []
    for path in glob.glob(f"{out}/{mode}-*/*/result.json"):
        result = json.load(open(path))
        for run in result["runs"]:
            speedup = run.get("speedup")
            if run["is_baseline"] or not speedup:
                continue
            verdicts.append(speedup["verdict"])
            ci = speedup["ratio_ci"]
            covers.append(ci["low"] <= 1.0 <= ci["high"])
            rounds = speedup.get("rounds")
            if rounds:
                secs.append(rounds["measured_secs"])
                resolutions.append(rounds["resolution"])
    n = len(verdicts)
    alarms = sum(v in ("Faster", "Slower") for v in verdicts)
    low, high = clopper_pearson(alarms, n) if n else (0, 0)
    counts = ", ".join(f"{v} {verdicts.count(v)}" for v in sorted(set(verdicts)))
    median = lambda xs, f: f(statistics.median(xs)) if xs else "—"
    print(f"| {mode} | {n} | {alarms} | {alarms / max(n, 1):.1%} [{low:.1%}–{high:.1%}] | "
          f"{sum(covers) / max(n, 1):.1%} | {counts} | {median(secs, lambda s: f'{s:.1f}')} | "
          f"{median(resolutions, lambda r: f'±{r * 100:.1f} %')} |")
PY
