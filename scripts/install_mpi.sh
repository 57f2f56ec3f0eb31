#!/usr/bin/env bash
# Installs what `cargo build --features mpi` and mpirun need, if missing: Debian's OpenMPI
# (mpirun, and mpicc with the headers and libraries rsmpi builds against) and libclang (bindgen,
# in mpi-sys's build). As root or through sudo. Used by scripts/mpi_test.sh and slurm_test.sh.
set -euo pipefail
missing=0
command -v mpirun >/dev/null || missing=1
command -v mpicc >/dev/null || missing=1
ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || missing=1
if [ "$missing" -eq 1 ]; then
  echo "scripts/install_mpi.sh: installing libopenmpi-dev openmpi-bin libclang-dev" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenmpi-dev openmpi-bin libclang-dev >/dev/null
fi
