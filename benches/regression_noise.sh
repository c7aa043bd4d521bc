#!/usr/bin/env bash
# How often does `phasebench compare` call a regression where there is none? Runs one suite
# ROUNDS+1 times on this machine, compares each result with the next at several thresholds, and
# prints how many matched run pairs each threshold calls regressed / improved / unchanged. Every
# pair is the same code on the same machine, so everything but "unchanged" is noise: pick a
# suite's `regression_threshold` from this table.
#
#   benches/regression_noise.sh [BINARY] [SUITE] [ROUNDS] [THRESHOLDS]
#   (defaults: target/release/phasebench, the embedded default suite, 10, "2% 5% 10% 15% 20%")
set -euo pipefail
binary=${1:-target/release/phasebench}
suite=${2:-}
rounds=${3:-10}
thresholds=${4:-2% 5% 10% 15% 20%}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq 0 "$rounds"); do
  # shellcheck disable=SC2086 # an empty SUITE means the embedded default
  "$binary" run $suite --out "$out/r$i" >/dev/null 2>&1 || true
  echo "run $i of $rounds done" >&2
done
echo "threshold  regressed  improved  unchanged  pairs  no-regression"
for threshold in $thresholds; do
  regressed=0 improved=0 unchanged=0
  for i in $(seq 1 "$rounds"); do
    line=$("$binary" compare "$out"/r$((i - 1))/* "$out"/r"$i"/* --threshold "$threshold" | grep -E '^[0-9]+ regressed')
    read -r r i2 u <<<"$(echo "$line" | tr -d ',' | awk '{print $1, $3, $5}')"
    regressed=$((regressed + r)) improved=$((improved + i2)) unchanged=$((unchanged + u))
  done
  pairs=$((regressed + improved + unchanged))
  awk -v t="$threshold" -v r="$regressed" -v i="$improved" -v u="$unchanged" -v p="$pairs" \
    'BEGIN { printf "%-9s  %9d  %8d  %9d  %5d  %12.1f %%\n", t, r, i, u, p, 100 * (p - r) / p }'
done
