#!/usr/bin/env bash
# How often does `phasebench compare` call a regression where there is none? Runs one suite
# ROUNDS+1 times on this machine and compares same-code results at several thresholds, two ways:
# each result with the next (one result per side: step-level CI, blind to the noise between
# runs), and PER_SIDE consecutive results against the next PER_SIDE (`compare B1.. -- A1..`: the
# between-results t, which measures that noise). Prints, per way and threshold, how many matched
# run pairs are called regressed / improved / unchanged. Every pair is the same code on the same
# machine, so everything but "unchanged" is noise.
#
#   benches/regression_noise.sh [BINARY] [SUITE] [ROUNDS] [THRESHOLDS] [PER_SIDE]
#   (defaults: target/release/phasebench, the embedded default suite, 10, "2% 5% 10% 15% 20%", 3)
set -euo pipefail
binary=${1:-target/release/phasebench}
suite=${2:-}
rounds=${3:-10}
thresholds=${4:-2% 5% 10% 15% 20%}
per_side=${5:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq 0 "$rounds"); do
  # shellcheck disable=SC2086 # an empty SUITE means the embedded default
  "$binary" run $suite --out "$out/r$i" >/dev/null 2>&1 || true
  echo "run $i of $rounds done" >&2
done

# table TITLE: reads "BEFORE... -- AFTER..." argument lines from stdin, one compare each.
table() {
  local comparisons
  comparisons=$(cat)
  echo
  echo "$1"
  echo "threshold  regressed  improved  unchanged  pairs  no-regression"
  for threshold in $thresholds; do
    regressed=0 improved=0 unchanged=0
    while read -r -a args; do
      line=$("$binary" compare --threshold "$threshold" "${args[@]}" | grep -E '^[0-9]+ regressed')
      read -r r i2 u <<<"$(echo "$line" | tr -d ',' | awk '{print $1, $3, $5}')"
      regressed=$((regressed + r)) improved=$((improved + i2)) unchanged=$((unchanged + u))
    done <<<"$comparisons"
    pairs=$((regressed + improved + unchanged))
    awk -v t="$threshold" -v r="$regressed" -v i="$improved" -v u="$unchanged" -v p="$pairs" \
      'BEGIN { printf "%-9s  %9d  %8d  %9d  %5d  %12.1f %%\n", t, r, i, u, p, 100 * (p - r) / p }'
  done
}

for i in $(seq 1 "$rounds"); do echo "$out/r$((i - 1))/*/result.json $out/r$i/*/result.json"; done |
  while read -r before after; do echo "$(echo $before) -- $(echo $after)"; done |
  table "one result per side (each result against the next)"

for start in $(seq 0 $((rounds + 1 - 2 * per_side))); do
  before="" after=""
  for j in $(seq 0 $((per_side - 1))); do
    before="$before $(echo "$out"/r$((start + j))/*/result.json)"
    after="$after $(echo "$out"/r$((start + per_side + j))/*/result.json)"
  done
  echo "$before --$after"
done | table "$per_side results per side (results i..i+$((per_side - 1)) against the next $per_side, sliding)"
