#!/usr/bin/env bash
# Runs learnsim's test suite. Installs what the tests need first: a Python venv in .venv with
# h5py, numpy, the `tfrecord` package (with protobuf) and meshio: the interoperability tests
# check our HDF5, TFRecord, NPZ, pickle and VTK files against the field's own Python readers.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c "import h5py, numpy, tfrecord, google.protobuf, meshio" 2>/dev/null; then
  echo "scripts/test.sh: installing h5py, numpy, tfrecord, protobuf and meshio into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check h5py numpy tfrecord protobuf meshio
fi
export LEARNSIM_PYTHON="$PWD/.venv/bin/python"

cargo test --workspace --all-targets
