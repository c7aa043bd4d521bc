#!/usr/bin/env bash
# Runs each fuzz target for a fixed number of executions from a seed corpus made of the shipped
# suites and the test fixtures, and prints each target's figures. Needs a nightly toolchain and
# cargo-fuzz (`rustup toolchain install nightly; cargo install cargo-fuzz`).
#
#   fuzz/run.sh [RUNS]       (default 1000000 executions per target)
# A crash leaves its input under fuzz/artifacts/<target>/; keep it as a regression fixture.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/suite" "$corpus/result"
cp suites/*.ron tests/fixtures/valid_suites/*.ron tests/fixtures/invalid_suites/*.ron "$corpus/suite/"
cp tests/fixtures/invalid_results/* "$corpus/result/"
# Real results and an HTML report from a tiny run, so the result target starts from valid input.
cargo run -q --release -- run tests/fixtures/valid_suites/tiny.ron --out "$corpus/run" >/dev/null 2>&1 || true
cp "$corpus"/run/*/result.json "$corpus/result/tiny.json" 2>/dev/null || true
cp "$corpus"/run/*/report.html "$corpus/result/tiny.html" 2>/dev/null || true
for target in suite result; do
  echo "== $target: $runs executions"
  start=$(date +%s)
  cargo +nightly fuzz run "$target" "$corpus/$target" -- -runs="$runs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 2>&1 |
    grep -E "^(#[0-9]+\s+DONE|Done|==[0-9]+== ERROR|SUMMARY|artifact_prefix|Test unit written)" || true
  echo "   wall: $(( $(date +%s) - start )) s"
done
