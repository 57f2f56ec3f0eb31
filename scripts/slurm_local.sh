#!/usr/bin/env bash
# A single-node Slurm on this machine for trying examples/slurm/ (issue #26): slurmctld and
# slurmd on localhost (ports 16817/16818), no authentication daemon (auth/none: a test cluster
# only), one partition `local` with this machine's cores. State, logs and slurm.conf live in
# target/slurm-local. Installs Debian's slurm-wlm if missing (as root or through sudo).
# Usage: scripts/slurm_local.sh start   then   export SLURM_CONF=target/slurm-local/slurm.conf
#        scripts/slurm_local.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$PWD/target/slurm-local"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

stop() {
  for daemon in slurmd slurmctld; do
    if [ -f "$DIR/$daemon.pid" ]; then
      local pid
      pid="$(cat "$DIR/$daemon.pid")"
      $SUDO kill "$pid" 2>/dev/null || true
      # The daemons take a few seconds to shut down; a restart must not meet the old ones.
      for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      rm -f "$DIR/$daemon.pid"
    fi
  done
}

start() {
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null; then
    echo "scripts/slurm_local.sh: installing slurm-wlm" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm >/dev/null
  fi
  stop
  rm -rf "$DIR"
  mkdir -p "$DIR/state" "$DIR/spool"
  cat >"$DIR/slurm.conf" <<CONF
ClusterName=learnsim-local
SlurmctldHost=localhost
AuthType=auth/none
CredType=cred/none
SlurmUser=$(id -un)
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=localhost CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$DIR/slurm.conf"
  $SUDO slurmctld -f "$SLURM_CONF"
  $SUDO slurmd -f "$SLURM_CONF" -N localhost
  for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -q idle; then
      echo "Slurm is up: export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 1
  done
  echo "scripts/slurm_local.sh: the node did not become idle in 60 s; see $DIR/slurmctld.log and $DIR/slurmd.log" >&2
  stop
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: scripts/slurm_local.sh start|stop" >&2; exit 2 ;;
esac
