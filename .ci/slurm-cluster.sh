#!/usr/bin/env bash
# Single-node Slurm for CI on Debian 12 (slurm-wlm 22.05), no systemd needed (from the shared
# platform notes, ../shared/slurm/ci-slurm.sh).
# Run as root. Usage: ci-slurm.sh [up|test|down|all]   (default: all)
set -euo pipefail

W=${SLURM_CI_DIR:-/tmp/slurm-ci}
export SLURM_CONF=$W/etc/slurm.conf
H=$(hostname -s)

install_pkgs() {
  # Stop postinst scripts from starting munge/slurmd/slurmctld (systemd or sysvinit).
  local added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
  [ "$added_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

up() {
  command -v slurmctld >/dev/null || install_pkgs
  rm -rf "$W"; mkdir -p "$W/etc" "$W/state" "$W/spool" "$W/out"

  # --- munge ---
  [ -s /etc/munge/munge.key ] || mungekey -c -k /etc/munge/munge.key   # Debian postinst normally creates it
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F >"$W/munged.log" 2>&1 &
  echo $! > "$W/munged.pid"
  for i in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n </dev/null | unmunge >/dev/null

  # --- slurm.conf ---
  local C; C=$(slurmd -C | head -1)
  local CPUS MEM
  CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$C")
  MEM=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$C")
  cat > "$SLURM_CONF" <<EOF
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/slurmctld.log
SlurmdLogFile=$W/slurmd.log
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

  # --- daemons (foreground mode, backgrounded; we keep their PIDs) ---
  slurmctld -D -f "$SLURM_CONF" >"$W/slurmctld.out" 2>&1 & echo $! > "$W/slurmctld.bgpid"
  slurmd    -D -f "$SLURM_CONF" >"$W/slurmd.out"    2>&1 & echo $! > "$W/slurmd.bgpid"

  for i in $(seq 120); do
    [ "$(sinfo -h -n "$H" -o %t 2>/dev/null)" = idle ] && { echo "slurm up after ~$((i/2))s"; return 0; }
    sleep 0.5
  done
  echo "slurm did not become idle"; sinfo || true; tail -n 30 "$W"/slurmctld.log "$W"/slurmd.log; return 1
}

wait_job() {  # wait_job JOBID TIMEOUT_S
  local end=$((SECONDS + $2))
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    [ $SECONDS -lt $end ] || { echo "timeout waiting for job $1"; squeue; return 1; }
    sleep 0.5
  done
}

test_array() {
  local J
  J=$(sbatch --parsable --array=0-2 --output="$W/out/out-%a.txt" \
        --wrap 'echo task $SLURM_ARRAY_TASK_ID on $(hostname); sleep 2')
  wait_job "$J" 120
  for a in 0 1 2; do grep -qx "task $a on $(hostname)" "$W/out/out-$a.txt"; done
  # per-task state/exit code without accounting (kept in slurmctld for MinJobAge=300s):
  squeue -h --states=all -j "$J" -o '%K %T' | sort
  if squeue -h --states=all -j "$J" -o '%T' | grep -qv COMPLETED; then echo "array $J: task not COMPLETED"; return 1; fi
  echo "array $J OK"
}

down() {
  for p in slurmd slurmctld munged; do
    f="$W/$p.bgpid"; [ -f "$f" ] || f="$W/$p.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f"); kill "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
  done
}

case "${1:-all}" in
  up) up ;;
  test) test_array ;;
  down) down ;;
  all) trap down EXIT; up; test_array ;;
esac
