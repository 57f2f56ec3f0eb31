#!/usr/bin/env bash
# The Sinkhorn benchmark of docs/performance.md: our solver against the dense one it replaced
# (in `learnsim bench sinkhorn`) and against POT (on the same clouds), in one script.
#
#   scripts/bench_sinkhorn.sh [DATASET]    # about 4 minutes on two cores
#
# DATASET: a particle dataset folder whose test trajectory 0 adds a real pair of clouds
# (e.g. one written by `learnsim generate water-drop-2d --tier paper`).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${POT_VENV:-target/pot-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pot numpy scipy
fi
cargo build --release --quiet -p learnsim-cli
clouds="$(mktemp --suffix .json)"
trap 'rm -f "$clouds"' EXIT
data=()
if [ $# -ge 1 ]; then data=(--data "$1"); fi
./target/release/learnsim bench sinkhorn --clouds "$clouds" "${data[@]}"
"$venv/bin/python" scripts/bench_sinkhorn_pot.py "$clouds"
