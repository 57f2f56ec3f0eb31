#!/bin/bash
# The whole chain: generate (a job array of SHARDS tasks) → merge → train (RANKS MPI ranks),
# each job starting only when the one before succeeded (--dependency=afterok). Settings come
# from the environment (LEARNSIM, CASE, TIER, DATA, CONFIG, RUN, GENERATE_ARGS, TRAIN_ARGS; see
# the .sbatch files) and are passed on to the jobs (sbatch exports the environment).
# Usage: SHARDS=16 RANKS=8 examples/slurm/submit.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
SHARDS="${SHARDS:-16}"
RANKS="${RANKS:-2}"
generate=$(sbatch --parsable --array="0-$((SHARDS - 1))" "$here/generate.sbatch")
merge=$(sbatch --parsable --dependency="afterok:$generate" "$here/merge.sbatch")
train=$(sbatch --parsable --dependency="afterok:$merge" --ntasks="$RANKS" "$here/train.sbatch")
echo "generate $generate (array of $SHARDS) -> merge $merge -> train $train ($RANKS ranks)"
