//! The Well-layout grid files: a round trip keeps every value, bad files are named, and what
//! we write meets The Well's format contract as `scripts/well_contract.py` checks it with h5py
//! (needs Python with h5py: `LEARNSIM_PYTHON`, else `.venv`, made by `scripts/test.sh`).

use learnsim_data::{GridField, WellGrid, read_well_grid, write_well_grid};
use std::path::{Path, PathBuf};
use std::process::Command;

fn sample() -> WellGrid {
    let (t, n) = (3, 4);
    let coords: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
    WellGrid {
        name: "unit".into(),
        spatial_dims: vec!["x".into(), "y".into()],
        coordinates: vec![coords.clone(), coords],
        time: vec![0.0, 0.1, 0.2],
        n_trajectories: 2,
        parameters: vec![("nu".into(), 0.05), ("seed".into(), 7.0)],
        fields: vec![
            GridField {
                name: "density".into(),
                order: 0,
                values: (0..2 * t * n * n).map(|i| i as f32 * 0.25).collect(),
            },
            GridField {
                name: "velocity".into(),
                order: 1,
                values: (0..2 * t * n * n * 2).map(|i| (i as f32).sin()).collect(),
            },
        ],
    }
}

#[test]
fn round_trip_keeps_everything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("grid.hdf5");
    let grid = sample();
    write_well_grid(&path, &grid).expect("write");
    let back = read_well_grid(&path).expect("read");
    assert_eq!(back, grid);
    assert_eq!(back.field_shape(1), vec![2, 3, 4, 4, 2]);
}

#[test]
fn wrong_shapes_and_bad_files_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("grid.hdf5");
    let mut grid = sample();
    grid.fields[1].values.pop();
    let err = write_well_grid(&path, &grid)
        .expect_err("short field")
        .to_string();
    assert!(
        err.contains("grid.hdf5") && err.contains("velocity"),
        "{err}"
    );
    assert!(!path.exists(), "nothing written for a refused grid");

    write_well_grid(&path, &sample()).expect("write");
    let bytes = std::fs::read(&path).expect("read back");
    let cut = dir.path().join("cut.hdf5");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write truncated");
    let err = read_well_grid(&cut).expect_err("truncated").to_string();
    assert!(err.contains("cut.hdf5"), "{err}");
    let err = read_well_grid(&dir.path().join("absent.hdf5"))
        .expect_err("missing")
        .to_string();
    assert!(err.contains("absent.hdf5"), "{err}");
}

fn contract_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/well_contract.py")
}

/// Runs the contract checker on `path`: Ok(stdout) when the file follows the format, Err(what
/// it reports) otherwise.
fn contract(path: &Path) -> Result<String, String> {
    let out = Command::new(crate::common::python())
        .arg(contract_script())
        .arg(path)
        .output()
        .expect("cannot start Python: run scripts/test.sh, which installs h5py into .venv");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// A 3D grid with one scalar and one vector field, as hit-3d writes.
fn sample_3d() -> WellGrid {
    let (t, n) = (2, 3);
    let coords: Vec<f64> = (0..n).map(|i| i as f64).collect();
    WellGrid {
        name: "cube".into(),
        spatial_dims: vec!["x".into(), "y".into(), "z".into()],
        coordinates: vec![coords.clone(), coords.clone(), coords],
        time: vec![0.0, 1.0],
        n_trajectories: 1,
        parameters: vec![("reynolds".into(), 100.0)],
        fields: vec![
            GridField {
                name: "pressure".into(),
                order: 0,
                values: vec![0.5; t * n * n * n],
            },
            GridField {
                name: "velocity".into(),
                order: 1,
                values: (0..t * n * n * n * 3).map(|i| i as f32).collect(),
            },
        ],
    }
}

#[test]
fn files_we_write_meet_the_well_format_contract() {
    let dir = tempfile::tempdir().unwrap();
    for (name, grid) in [("plane.hdf5", sample()), ("cube.hdf5", sample_3d())] {
        let path = dir.path().join(name);
        write_well_grid(&path, &grid).expect("write");
        let report = contract(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.contains("follows The Well's format"), "{report}");
    }
}

/// The checker is a test only if it refuses what The Well's reader trips over: each mutation
/// below is one of the gaps the issue found in files we used to write.
#[test]
fn the_contract_checker_refuses_each_missing_piece() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.hdf5");
    write_well_grid(&good, &sample()).expect("write");
    let mutations = [
        ("del f['scalars'].attrs['field_names']", "field_names"),
        ("del f['t1_fields'].attrs['field_names']", "field_names"),
        (
            "del f['t1_fields/velocity'].attrs['dim_varying']",
            "dim_varying",
        ),
        (
            "del f['t0_fields/density'].attrs['time_varying']",
            "time_varying",
        ),
        (
            "del f['scalars/nu'].attrs['sample_varying']",
            "sample_varying",
        ),
        (
            "del f['dimensions/x'].attrs['sample_varying']",
            "sample_varying",
        ),
        ("del f['boundary_conditions/x_periodic/mask']", "mask"),
        (
            "del f['boundary_conditions/y_periodic'].attrs['associated_fields']",
            "associated_fields",
        ),
        (
            "f['t1_fields/velocity'].attrs['time_varying'] = 1",
            "not bool",
        ),
        (
            "f['boundary_conditions/x_periodic/mask'][0] = False",
            "both ends",
        ),
        (
            "f['t0_fields'].attrs['field_names'] = ['density', 'ghost']",
            "field_names",
        ),
    ];
    for (i, (mutation, expected)) in mutations.iter().enumerate() {
        let bad = dir.path().join(format!("bad{i}.hdf5"));
        std::fs::copy(&good, &bad).unwrap();
        crate::common::run_python(
            &format!("import sys, h5py\nwith h5py.File(sys.argv[1], 'r+') as f:\n    {mutation}"),
            &[&bad],
        );
        let err = contract(&bad).expect_err(mutation);
        assert!(err.contains(expected), "{mutation}: {err}");
    }
}

/// A file written by h5py alone the way The Well's tools write one (0-d scalars, bool flags,
/// float32 coordinates, masks) reads back with its values.
#[test]
fn files_h5py_writes_in_the_well_format_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("well.hdf5");
    let script = r#"
import sys, h5py, numpy as np
B, T, W, H = 2, 4, 5, 6
with h5py.File(sys.argv[1], "w") as f:
    f.attrs.update(dataset_name="shear", grid_type="cartesian", n_spatial_dims=2,
                   n_trajectories=B, simulation_parameters=["Re"], Re=1000.0)
    d = f.create_group("dimensions")
    d.attrs["spatial_dims"] = ["x", "y"]
    for name, v, tv in [("time", np.arange(T) * 0.5, True), ("x", np.linspace(0, 1, W), False),
                        ("y", np.linspace(0, 2, H), False)]:
        ds = d.create_dataset(name, data=v.astype(np.float32))
        ds.attrs["sample_varying"] = False
        ds.attrs["time_varying"] = tv
    bcs = f.create_group("boundary_conditions")
    for dim, n in [("x", W), ("y", H)]:
        g = bcs.create_group(dim + "_periodic")
        g.attrs.update(associated_dims=[dim], associated_fields=[], bc_type="periodic",
                       sample_varying=False, time_varying=False)
        mask = np.zeros(n, bool); mask[0] = mask[-1] = True
        g.create_dataset("mask", data=mask)
    s = f.create_group("scalars")
    s.attrs["field_names"] = ["Re"]
    ds = s.create_dataset("Re", data=np.array(1000.0))
    ds.attrs.update(sample_varying=False, time_varying=False)
    values = {0: np.arange(B * T * W * H, dtype=np.float32).reshape(B, T, W, H),
              1: (np.arange(B * T * W * H * 2, dtype=np.float32) * 0.25 - 3).reshape(B, T, W, H, 2)}
    for order, name in [(0, "tracer"), (1, "velocity"), (2, None)]:
        g = f.create_group(f"t{order}_fields")
        g.attrs["field_names"] = [name] if name else []
        if name:
            ds = g.create_dataset(name, data=values[order])
            ds.attrs.update(sample_varying=True, time_varying=True, dim_varying=[True, True])
"#;
    crate::common::run_python(script, &[&path]);
    contract(&path).expect("h5py's file follows the format");
    let grid = read_well_grid(&path).expect("read");
    assert_eq!(grid.name, "shear");
    assert_eq!(grid.n_trajectories, 2);
    assert_eq!(grid.parameters, vec![("Re".to_string(), 1000.0)]);
    assert_eq!(grid.time, vec![0.0, 0.5, 1.0, 1.5]);
    assert_eq!(grid.coordinates[1].len(), 6);
    let tracer = grid.field("tracer").expect("tracer");
    assert_eq!(tracer.values[..3], [0.0, 1.0, 2.0]);
    assert_eq!(tracer.values.len(), 2 * 4 * 5 * 6);
    let velocity = grid.field("velocity").expect("velocity");
    assert_eq!(velocity.values[..2], [-3.0, -2.75]);
    assert_eq!(velocity.values.len(), 2 * 4 * 5 * 6 * 2);
}
