#!/usr/bin/env python3
"""Checks HDF5 files against The Well's format specification, with h5py alone.

Written from The Well's `docs/data_format.md` (the specification) and from what its reader,
`the_well.data.datasets.WellDataset`, indexes in every file it opens; not from learnsim's
writer. Every rule below names where it comes from.

    python scripts/well_contract.py FILE.hdf5 [...]

Prints one line per file and exits non-zero, naming the file, the object and the rule, at the
first file that breaks the contract.
"""

import sys

import h5py
import numpy as np

BC_TYPES = {"PERIODIC", "WALL", "OPEN"}  # spec: "Currently support periodic/wall/open"
GRID_TYPES = {"cartesian", "spherical"}  # spec: "cartesian/spherical currently supported"


class Broken(Exception):
    pass


def need(condition, where, rule):
    if not condition:
        raise Broken(f"{where}: {rule}")


def is_bool(value):
    return isinstance(value, (bool, np.bool_))


def is_str_list(value):
    return isinstance(value, (list, np.ndarray)) and all(isinstance(v, str) for v in value)


def flag(obj, name):
    """A `sample_varying`/`time_varying` flag: present and an HDF5 bool (h5py's numpy bool)."""
    need(name in obj.attrs, obj.name, f"attribute `{name}` missing")
    value = obj.attrs[name]
    need(is_bool(value), obj.name, f"attribute `{name}` is {type(value).__name__}, not bool")
    return bool(value)


def leading(f, obj):
    """The axes a sample- or time-varying object leads with (spec, and the reader's indexing)."""
    shape = ()
    if flag(obj, "sample_varying"):
        shape += (int(f.attrs["n_trajectories"]),)
    if flag(obj, "time_varying"):
        shape += (f["dimensions"]["time"].shape[-1],)
    return shape


def check_root(f):
    a = f.attrs
    for name in ("dataset_name", "grid_type"):
        need(name in a and isinstance(a[name], str), "/", f"string attribute `{name}`")
    need(a["grid_type"] in GRID_TYPES, "/", f"grid_type {a['grid_type']!r} not in {GRID_TYPES}")
    for name in ("n_spatial_dims", "n_trajectories"):
        need(name in a and isinstance(a[name], (int, np.integer)), "/", f"integer `{name}`")
    need("simulation_parameters" in a, "/", "attribute `simulation_parameters` missing")
    for p in a["simulation_parameters"]:
        need(isinstance(p, str), "/", f"simulation parameter {p!r} is not a string")
        need(p in a, "/", f"simulation parameter `{p}` has no root attribute")
        need(p in f["scalars"], "/scalars", f"simulation parameter `{p}` has no dataset")


def check_dimensions(f):
    need("dimensions" in f, "/", "group `dimensions` missing")
    g = f["dimensions"]
    need("spatial_dims" in g.attrs and is_str_list(g.attrs["spatial_dims"]), g.name,
         "attribute `spatial_dims`: a list of strings")
    dims = list(g.attrs["spatial_dims"])
    need(len(dims) == f.attrs["n_spatial_dims"], g.name, "spatial_dims has n_spatial_dims names")
    need("time" in g, g.name, "dataset `time` missing")
    time = g["time"]
    need(time.ndim == (2 if flag(time, "sample_varying") else 1), time.name,
         "time is [T], or [n_trajectories, T] when sample-varying")
    flag(time, "time_varying")
    for d in dims:
        need(d in g, g.name, f"coordinate dataset `{d}` missing")
        c = g[d]
        flag(c, "sample_varying")
        # spec: "time_varying = False  # True not currently supported"
        need(not flag(c, "time_varying"), c.name, "time-varying coordinates are not supported")
        need(c.ndim == (2 if c.attrs["sample_varying"] else 1), c.name, "coordinates are 1-D")
        need(np.all(np.diff(c[...], axis=-1) > 0), c.name, "coordinates increase")
    return dims


def check_boundaries(f, dims):
    need("boundary_conditions" in f, "/", "group `boundary_conditions` missing")
    for name, bc in f["boundary_conditions"].items():
        where = bc.name
        need(isinstance(bc, h5py.Group), where, "each boundary condition is a group")
        need("bc_type" in bc.attrs and isinstance(bc.attrs["bc_type"], str), where,
             "string attribute `bc_type`")
        bc_type = bc.attrs["bc_type"].upper()  # the reader upper-cases it into its enum
        need(bc_type in BC_TYPES, where, f"bc_type {bc_type!r} not in {BC_TYPES}")
        for attr in ("associated_dims", "associated_fields"):
            need(attr in bc.attrs and is_str_list(bc.attrs[attr]), where,
                 f"attribute `{attr}`: a list of strings")
        associated = list(bc.attrs["associated_dims"])
        need(associated and all(d in dims for d in associated), where,
             f"associated_dims {associated} within spatial_dims {dims}")
        flag(bc, "sample_varying")
        flag(bc, "time_varying")
        need("mask" in bc, where, "dataset `mask` missing")
        mask = bc["mask"]
        need(mask.dtype == np.bool_, mask.name, f"mask dtype {mask.dtype}, not bool")
        expected = leading(f, bc) + tuple(
            f["dimensions"][d].shape[-1] for d in dims if d in associated
        )
        need(mask.shape == expected, mask.name, f"shape {mask.shape}, expected {expected}")
        if bc_type == "PERIODIC":
            # The reader marks an axis periodic when the mask holds at its first and last cell.
            m = mask[...]
            for axis in range(len(associated)):
                first = np.take(m, 0, axis=m.ndim - len(associated) + axis)
                last = np.take(m, -1, axis=m.ndim - len(associated) + axis)
                need(first.any() and last.any(), mask.name,
                     "a periodic mask is true at both ends of its axis")
        if "values" in bc:
            count = int(np.count_nonzero(mask[...]))
            need(bc["values"].shape[-1] == count, bc["values"].name,
                 "values: one per true mask point")


def check_listed(group):
    """`field_names` lists every dataset of the group, and only those (spec)."""
    need("field_names" in group.attrs, group.name, "attribute `field_names` missing")
    listed = group.attrs["field_names"]
    need(isinstance(listed, (list, np.ndarray)), group.name, "field_names is a list")
    listed = list(listed)
    need(all(isinstance(n, str) for n in listed), group.name, "field_names are strings")
    need(sorted(listed) == sorted(group.keys()), group.name,
         f"field_names {listed} but datasets {sorted(group.keys())}")
    return listed


def check_scalars(f):
    need("scalars" in f, "/", "group `scalars` missing")
    g = f["scalars"]
    for name in check_listed(g):
        s = g[name]
        expected = leading(f, s)
        need(s.shape == expected, s.name, f"shape {s.shape}, expected {expected}")


def check_fields(f, dims):
    n = int(f.attrs["n_spatial_dims"])
    total = 0
    for order in range(3):
        group_name = f"t{order}_fields"
        need(group_name in f, "/", f"group `{group_name}` missing")
        g = f[group_name]
        for name in check_listed(g):
            d = g[name]
            need(d.dtype == np.float32, d.name, f"dtype {d.dtype}, not float32 (spec)")
            need("dim_varying" in d.attrs, d.name, "attribute `dim_varying` missing")
            along = d.attrs["dim_varying"]
            need(isinstance(along, np.ndarray) and along.dtype == np.bool_ and len(along) == n,
                 d.name, f"dim_varying {along!r}: n_spatial_dims bools")
            expected = leading(f, d)
            expected += tuple(
                f["dimensions"][dim].shape[-1] for dim, v in zip(dims, along) if v
            )
            expected += (n,) * order
            need(d.shape == expected, d.name, f"shape {d.shape}, expected {expected}")
            total += 1
    need(total > 0, "/", "no field in t0_fields, t1_fields or t2_fields")


def check(path):
    with h5py.File(path, "r") as f:
        check_root(f)
        dims = check_dimensions(f)
        check_boundaries(f, dims)
        check_scalars(f)
        check_fields(f, dims)


def main(paths):
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        try:
            check(path)
        except Broken as e:
            sys.exit(f"{path}: breaks The Well's format: {e}")
        print(f"{path}: follows The Well's format")


if __name__ == "__main__":
    main(sys.argv[1:])
