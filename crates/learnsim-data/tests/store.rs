//! Round trips and hostile inputs for the dataset store.

use learnsim_core::TypeConvention;
use learnsim_data::{DataError, read_metadata, read_split, write_metadata, write_split};
use std::path::Path;

fn message(result: Result<impl std::fmt::Debug, DataError>) -> String {
    result.expect_err("expected an error").to_string()
}

#[test]
fn split_round_trips_exactly_in_both_conventions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.h5");
    // Different particle counts per trajectory, as DeepMind's WaterRamps has.
    let data = vec![
        crate::common::trajectory(5, 7, 2, 3),
        crate::common::trajectory(3, 4, 2, 0),
    ];
    for convention in [TypeConvention::Deepmind, TypeConvention::Lagrangebench] {
        write_split(&path, &data, convention).unwrap();
        assert_eq!(read_split(&path, convention).unwrap(), data);
    }
    // The atomic writer leaves no temporary file behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("train.h5")]);
}

#[test]
fn metadata_round_trips_and_missing_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.json");
    let meta = crate::common::metadata();
    write_metadata(&path, &meta).unwrap();
    assert_eq!(read_metadata(&path).unwrap(), meta);

    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("acc_std");
    std::fs::write(&path, json.to_string()).unwrap();
    let err = message(read_metadata(&path));
    assert!(
        err.contains("metadata.json") && err.contains("acc_std"),
        "{err}"
    );

    let mut bad = crate::common::metadata();
    bad.vel_std = vec![0.0, 1.0];
    write_metadata(&path, &bad).unwrap();
    let err = message(read_metadata(&path));
    assert!(err.contains("vel_std"), "{err}");

    std::fs::write(&path, "{ not json").unwrap();
    assert!(message(read_metadata(&path)).contains("metadata.json"));
}

fn assert_names(err: &str, path: &Path, what: &str) {
    assert!(
        err.contains(&path.display().to_string()),
        "error does not name the file: {err}"
    );
    assert!(err.contains(what), "error does not say `{what}`: {err}");
}

#[test]
fn truncated_and_garbage_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.h5");
    write_split(
        &path,
        &[crate::common::trajectory(40, 50, 3, 0)],
        TypeConvention::Deepmind,
    )
    .unwrap();
    let full = std::fs::read(&path).unwrap();
    for keep in [0, 7, 100, full.len() / 3, full.len() / 2, full.len() - 16] {
        std::fs::write(&path, &full[..keep]).unwrap();
        let err = message(read_split(&path, TypeConvention::Deepmind));
        assert!(
            err.contains(&path.display().to_string()),
            "cut at {keep}: {err}"
        );
    }
    std::fs::write(&path, vec![0xAB; 4096]).unwrap();
    assert_names(
        &message(read_split(&path, TypeConvention::Deepmind)),
        &path,
        "HDF5",
    );
    let missing = dir.path().join("nope.h5");
    assert_names(
        &message(read_split(&missing, TypeConvention::Deepmind)),
        &missing,
        "no such file",
    );
}

#[test]
fn nan_positions_and_unknown_type_ids_are_reported_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("valid.h5");
    let mut t = crate::common::trajectory(4, 3, 2, 0);
    // Frame 2 starts at 2·(3·2) = 12; particle 1's y is 12 + 2 + 1. The fields are public, so
    // a NaN gets past Trajectory::new the way a corrupt producer's would.
    t.position[15] = f32::NAN;
    write_split(&path, &[t], TypeConvention::Deepmind).unwrap();
    let err = message(read_split(&path, TypeConvention::Deepmind));
    assert_names(&err, &path, "group 00000");
    assert!(err.contains("frame 2, particle 1"), "{err}");

    // Sand (DeepMind id 6) read under LagrangeBench's convention has no meaning.
    let mut sand = crate::common::trajectory(2, 2, 2, 0);
    sand.kind = vec![learnsim_core::ParticleKind::Sand; 2];
    write_split(&path, &[sand], TypeConvention::Deepmind).unwrap();
    let err = message(read_split(&path, TypeConvention::Lagrangebench));
    assert_names(&err, &path, "particle type id 6");
}

#[test]
fn a_group_that_is_not_a_trajectory_number_is_refused() {
    // Issue #33's probe: an HDF5 file whose group is called `foo` read as a split.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.h5");
    let file = rust_hdf5::H5File::create(&path).unwrap();
    let group = file.create_group("foo").unwrap();
    let t = crate::common::trajectory(3, 2, 2, 0);
    group
        .new_dataset::<f32>()
        .shape([t.n_frames, t.n_particles, t.dim])
        .create("position")
        .unwrap()
        .write_raw(&t.position)
        .unwrap();
    group
        .new_dataset::<i64>()
        .shape([t.n_particles])
        .create("particle_type")
        .unwrap()
        .write_raw(&[5i64, 5])
        .unwrap();
    file.close().unwrap();
    let err = message(read_split(&path, TypeConvention::Deepmind));
    assert_names(&err, &path, "group `foo` is not a trajectory group");
}

#[test]
fn metadata_claiming_a_trillion_particles_is_refused_as_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.json");
    let mut meta = crate::common::metadata();
    meta.num_particles_max = 1_000_000_000_000;
    write_metadata(&path, &meta).unwrap();
    let err = message(read_metadata(&path));
    assert!(
        err.contains("invalid metadata")
            && err.contains("num_particles_max is 1000000000000")
            && !err.contains("trajectory shape mismatch"),
        "{err}"
    );
}

#[test]
fn a_dataset_of_one_frame_trajectories_is_refused() {
    use learnsim_data::{DatasetFormat, import_dataset};
    // Nothing can be learned or scored from a single frame: reading it (as `learnsim convert`
    // does) must refuse it, naming the split file and the trajectory.
    let dir = tempfile::tempdir().unwrap();
    let mut meta = crate::common::metadata();
    meta.num_trajectories = [1, 0, 0];
    write_metadata(&dir.path().join("metadata.json"), &meta).unwrap();
    let one_frame = crate::common::trajectory(1, 3, 2, 0);
    let train = dir.path().join("train.h5");
    write_split(&train, &[one_frame], meta.particle_type_convention).unwrap();
    let err = message(import_dataset(dir.path(), DatasetFormat::Learnsim));
    assert_names(&err, &train, "trajectory 0 has 1 frame");
}
