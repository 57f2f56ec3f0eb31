#!/usr/bin/env python3
"""Opens learnsim's grid datasets with The Well's own loader and compares its numbers with ours.

    python scripts/well_compat.py LEARNSIM_WELL_SAMPLE FILE.hdf5 [...]

For each file: `the_well.data.WellDataset` (normalisation off, one input and one output
step; no output step for a one-frame file, as pm-cosmo's universes at a = 1) on a folder
holding only that file; two samples, the first and the middle one, whose
input and output frames must equal, bit for bit, what learnsim's reader returns for the same
trajectory and frames (the `well_sample` example, LEARNSIM_WELL_SAMPLE). Exits non-zero at the
first difference.
"""

import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from the_well.data import WellDataset

N_IN = 1


def ours(sampler, path, trajectory, first, count, order):
    """Our reader's frames, channels stacked in `order` (The Well's `field_names` order)."""
    out = subprocess.run([sampler, path, str(trajectory), str(first), str(count)],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    values = np.asarray(data["values"], dtype=np.float32).reshape(data["shape"])
    blocks = dict(zip(data["fields"],
                      np.split(values, np.cumsum(data["channels"])[:-1], axis=-1)))
    return np.concatenate([blocks[name] for name in order], axis=-1)


def check(sampler, path):
    with h5py.File(path, "r") as f:
        n_out = 1 if f["dimensions"]["time"].shape[-1] > N_IN else 0
        order = [str(n) for g in ("t0_fields", "t1_fields") for n in f[g].attrs["field_names"]]
    with tempfile.TemporaryDirectory() as folder:
        os.symlink(os.path.abspath(path), os.path.join(folder, os.path.basename(path)))
        dataset = WellDataset(path=folder, n_steps_input=N_IN, n_steps_output=n_out,
                              use_normalization=False)
        windows = dataset.n_windows_per_trajectory[0]
        trajectories = dataset.n_trajectories_per_file[0]
        total = len(dataset)
        assert total == windows * trajectories, (total, windows, trajectories)
        for index in sorted({0, total // 2}):
            sample = dataset[index]
            trajectory, first = divmod(index, windows)
            want = ours(sampler, path, trajectory, first, N_IN + n_out, order)
            # With no output step (one-frame files) the sample has no `output_fields`.
            got = np.concatenate([sample[k].numpy() for k in ("input_fields", "output_fields")
                                  if k in sample])
            if got.shape != want.shape or not np.array_equal(got, want):
                diff = (np.abs(got - want).max() if got.shape == want.shape
                        else f"shapes {got.shape} vs {want.shape}")
                sys.exit(f"{path}: sample {index} (trajectory {trajectory}, frame {first}) "
                         f"differs from learnsim's reader: {diff}")
        bcs = sample["boundary_conditions"].tolist() if "boundary_conditions" in sample else None
        print(f"{path}: WellDataset opened it: {total} samples, input_fields "
              f"{tuple(sample['input_fields'].shape)}, constant_scalars "
              f"{tuple(sample['constant_scalars'].shape)}, space_grid "
              f"{tuple(sample['space_grid'].shape)}, boundary_conditions {bcs}; "
              f"samples 0 and {total // 2} ({', '.join(order)}) equal learnsim's reader "
              f"bit for bit")


def main(args):
    if len(args) < 2:
        sys.exit(__doc__)
    sampler, files = args[0], args[1:]
    for path in files:
        check(sampler, path)


if __name__ == "__main__":
    main(sys.argv[1:])
