//! The Well-layout grid files: a round trip keeps every value, and bad files are named.

use learnsim_data::{GridField, WellGrid, read_well_grid, write_well_grid};

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
