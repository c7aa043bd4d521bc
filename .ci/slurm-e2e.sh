#!/usr/bin/env bash
# End to end on a real (one-node) Slurm cluster: `phasebench slurm` submits the tiny fixture suite
# as a 3-task job array, Slurm runs it, `phasebench merge` combines the shards, and the merged
# result must hold every planned run, completed. Starts munge/slurmctld/slurmd and stops them.
#
#   .ci/slurm-e2e.sh PHASEBENCH_BINARY     (as root: it installs packages and starts daemons)
set -euo pipefail
binary=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
export SLURM_CI_DIR=${SLURM_CI_DIR:-/tmp/phasebench-slurm-ci}
export SLURM_CONF=$SLURM_CI_DIR/etc/slurm.conf
trap 'bash "$here/slurm-cluster.sh" down' EXIT
bash "$here/slurm-cluster.sh" up

shared=$(mktemp -d)
submitted=$(RAYON_NUM_THREADS=1 "$binary" slurm "$repo/tests/fixtures/valid_suites/tiny.ron" --out "$shared" --nodes 3)
echo "$submitted"
job=$(sed -n 's/^submitted job \([0-9]*\):.*/\1/p' <<<"$submitted")
[ -n "$job" ] || { echo "no job id in: $submitted"; exit 1; }
end=$((SECONDS + 300))
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
  [ $SECONDS -lt $end ] || { echo "timeout waiting for job $job"; squeue; exit 1; }
  sleep 1
done
ls "$shared"
tail -n 3 "$shared"/slurm-*.out
merged=$("$binary" merge "$shared" --out "$shared/merged.json")
tail -n 3 <<<"$merged"
# The merged result equals the plan: every run present once, completed.
shown=$("$binary" show "$shared/merged.json")
grep -q "completed, 6/6 runs" <<<"$shown" || { echo "the merged result is not the whole plan:"; echo "$shown"; exit 1; }
shards=$(ls -d "$shared"/tiny-shard*of3-* | wc -l)
[ "$shards" = 3 ] || { echo "expected 3 shard results, found $shards"; exit 1; }
echo "slurm e2e: 3 array tasks, 3 shards merged into 6/6 runs"
