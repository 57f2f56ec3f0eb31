#!/usr/bin/env bash
# Runs learnsim's test suite. Installs what the tests need first: a Python venv in .venv with
# h5py, numpy, the `tfrecord` package (with protobuf) and meshio: the interoperability tests
# check our HDF5, TFRecord, NPZ, pickle and VTK files against the field's own Python readers;
# maturin and pytest: the Python package (crates/learnsim-py) is built into the venv and
# tested with pytest after the Rust tests, reusing their build of its dependencies. Last, the
# browser test of `learnsim view` (scripts/browser_test.sh installs Debian's chromium and
# playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c "import h5py, numpy, tfrecord, google.protobuf, meshio, pytest" 2>/dev/null \
  || [ ! -x .venv/bin/maturin ]; then
  echo "scripts/test.sh: installing h5py, numpy, tfrecord, protobuf, meshio, maturin and pytest into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check h5py numpy tfrecord protobuf meshio \
    "maturin>=1.8,<2" pytest
fi
export LEARNSIM_PYTHON="$PWD/.venv/bin/python"

cargo test --workspace --all-targets

# The Python package: `maturin develop` builds it (cargo's dev profile, which the test
# profile inherits unchanged) into .venv, then pytest. On a clean clone this compiles the
# dependencies a second time (about 6 minutes on two cores; see Cargo.toml).
(cd crates/learnsim-py && VIRTUAL_ENV="$PWD/../../.venv" ../../.venv/bin/maturin develop --quiet)
.venv/bin/python -m pytest -q crates/learnsim-py/tests

# `learnsim view` in headless Chromium, with the binary the tests above built.
scripts/browser_test.sh target/debug/learnsim
