#!/usr/bin/env bash
# Runs learnsim's test suite. Installs what the tests need first: a Python venv with h5py and
# numpy in .venv (the HDF5 interoperability tests check our files against h5py).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c "import h5py, numpy" 2>/dev/null; then
  echo "scripts/test.sh: installing h5py and numpy into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check h5py numpy
fi
export LEARNSIM_PYTHON="$PWD/.venv/bin/python"

cargo test --workspace --all-targets
