#!/usr/bin/env bash
# Opt-in: opens every grid case's dataset with The Well's own loader (`the_well` from PyPI,
# `WellDataset`) and checks its samples against learnsim's reader, bit for bit.
#
#   scripts/well_compat.sh [OUT]      (OUT: where the quick runs go; default runs/well-compat)
#
# Installs the_well and its torch dependency into .venv-well (about 5.4 GB, one minute on a
# fast link; reused afterwards), builds learnsim (release) and the `well_sample` example, runs
# each grid case with --quick (kolmogorov-2d, hit-3d, burgers-2d, pm-cosmo), then runs
# scripts/well_compat.py on every dataset they wrote. About 15 s on 2 cores once installed and
# built (measured 11 s; a clean build of learnsim first takes several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/well-compat}"

if ! .venv-well/bin/python -c "import the_well, torch, h5py" 2>/dev/null; then
  echo "scripts/well_compat.sh: installing the_well (with torch) into .venv-well" >&2
  python3 -m venv .venv-well
  .venv-well/bin/pip install --quiet --disable-pip-version-check the_well
fi
.venv-well/bin/python -c "import the_well; print('the_well', the_well.__version__)" 2>/dev/null \
  || .venv-well/bin/pip show the_well | head -2

cargo build --release -p learnsim-cli --bin learnsim
cargo build --release -p learnsim-data --example well_sample
learnsim=target/release/learnsim
sampler=target/release/examples/well_sample

mkdir -p "$out"
files=()
for case in kolmogorov-2d hit-3d burgers-2d pm-cosmo; do
  echo "== learnsim run $case --quick --out $out/$case"
  "$learnsim" run "$case" --quick --out "$out/$case" > "$out/$case.log" 2>&1 \
    || { echo "learnsim run $case failed; see $out/$case.log" >&2; exit 1; }
  files+=("$out/$case"/data/*.hdf5)
done

echo "== The Well's format contract (scripts/well_contract.py)"
.venv-well/bin/python scripts/well_contract.py "${files[@]}"
echo "== WellDataset against learnsim's reader (scripts/well_compat.py)"
.venv-well/bin/python scripts/well_compat.py "$sampler" "${files[@]}"
