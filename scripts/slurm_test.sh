#!/usr/bin/env bash
# examples/slurm/ for real on a single-node Slurm (issue #26): scripts/slurm_local.sh starts
# slurmctld and slurmd on localhost, examples/slurm/submit.sh submits generate (a job array of
# 2 shards) → merge → train (2 MPI ranks through `srun --mpi=pmix`), chained with
# --dependency=afterok, and this script waits for them and checks
#   - the merged dataset is byte for byte the one one process generates with the same recipe;
#   - the training job ran on 2 ranks holding identical weights and finished its 20 steps.
# Builds learnsim with --features mpi (scripts/mpi_test.sh's build) and installs slurm-wlm and
# OpenMPI if missing. About 1 minute after scripts/mpi_test.sh on two cores.
# Usage: scripts/slurm_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
scripts/install_mpi.sh
cargo build --quiet -p learnsim-cli --features mpi

scripts/slurm_local.sh start >/dev/null
trap '"$ROOT/scripts/slurm_local.sh" stop' EXIT
export SLURM_CONF="$ROOT/target/slurm-local/slurm.conf"
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

WORK="$ROOT/target/slurm-test"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
# The settings examples/slurm/ reads from the environment (see its .sbatch files).
export LEARNSIM="$ROOT/target/debug/learnsim" CASE=water-drop-2d TIER=cpu DATA="$WORK/data"
export CONFIG="$ROOT/configs/water-drop-2d.toml" RUN="$WORK/run"
export GENERATE_ARGS="--frames 40 --trajectories 4,2,2"
export TRAIN_ARGS="--set steps=20 --set latent=32 --set message_passing_steps=2 --set validate_every=10 --set checkpoint_every=10 --set validation_windows=2"
SHARDS=2 RANKS=2 "$ROOT/examples/slurm/submit.sh" | tee submit.out

# Wait for the chain (a failed job leaves its dependants pending for ever: DependencyNeverSatisfied).
for _ in $(seq 600); do
  [ -z "$(squeue -h)" ] && break
  if squeue -h -o %r | grep -q DependencyNeverSatisfied; then
    echo "scripts/slurm_test.sh: a job failed:" >&2; squeue >&2; tail -n 20 learnsim-*.out >&2; exit 1
  fi
  sleep 1
done
[ -z "$(squeue -h)" ] || { echo "scripts/slurm_test.sh: jobs still queued after 10 minutes" >&2; squeue >&2; exit 1; }

passed=0
failed=0
check() {
  local name="$1"; shift
  if "$@"; then echo "ok   $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
same_dataset() {
  "$LEARNSIM" -q generate water-drop-2d --tier cpu $GENERATE_ARGS --out "$WORK/one-process" >/dev/null &&
  for f in train.h5 valid.h5 test.h5 metadata.json; do cmp "$WORK/data/$f" "$WORK/one-process/$f" || return 1; done
}
check "the job array's shards merge into the dataset one process writes" same_dataset
trained() {
  grep -q "trained 20 steps" learnsim-train-*.out &&
  grep -q "2 ranks hold identical weights" learnsim-train-*.out &&
  [ "$(python3 -c "import json; print(json.load(open('$RUN/checkpoint/state.json'))['step'])")" = 20 ]
}
check "srun trained on 2 ranks with identical weights to step 20" trained
echo "--- the jobs' output:"
tail -n 3 learnsim-*.out
echo "slurm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
