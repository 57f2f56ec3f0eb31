//! The field's formats in and out: fixtures written by the reference Python tools read back
//! exactly, files we write read back exactly in Python, and a dataset survives every chain of
//! conversions.
//!
//! Fixtures: `tests/fixtures/interop`, written by `scripts/fixtures/interop.py` (the `tfrecord`
//! package's writer, `np.savez_compressed`, h5py). The Python-side checks need numpy, h5py and the
//! `tfrecord` package; `scripts/test.sh` installs them into `.venv`.

use crate::common::run_python;
use learnsim_core::{ParticleKind, Trajectory, TypeConvention};
use learnsim_data::tfrecord::read_tfrecord;
use learnsim_data::{
    Dataset, DatasetFormat, RolloutExport, export_dataset, import_dataset, load_dataset,
    write_rollout_pickle,
};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop")
}

/// The peers' particle-type ids, written out from their sources rather than decoded by the
/// `from_id` under test: DeepMind's GNS datasets (`KINEMATIC_PARTICLE_ID = 3`, water 5, sand 6,
/// goop 7, rigid 0; geoelements follows them) and LagrangeBench's `NodeType` (FLUID 0,
/// SOLID_WALL 1, MOVING_WALL 2, RIGID_BODY 3).
const PINNED: [(TypeConvention, i64, ParticleKind); 9] = [
    (TypeConvention::Deepmind, 0, ParticleKind::Rigid),
    (TypeConvention::Deepmind, 3, ParticleKind::Wall),
    (TypeConvention::Deepmind, 5, ParticleKind::Water),
    (TypeConvention::Deepmind, 6, ParticleKind::Sand),
    (TypeConvention::Deepmind, 7, ParticleKind::Goop),
    (TypeConvention::Lagrangebench, 0, ParticleKind::Water),
    (TypeConvention::Lagrangebench, 1, ParticleKind::Wall),
    (TypeConvention::Lagrangebench, 2, ParticleKind::MovingWall),
    (TypeConvention::Lagrangebench, 3, ParticleKind::Rigid),
];

fn pinned_kind(id: i64, convention: TypeConvention) -> ParticleKind {
    PINNED
        .iter()
        .find(|(c, i, _)| *c == convention && *i == id)
        .unwrap_or_else(|| panic!("fixture id {id} has no {convention:?} kind"))
        .2
}

#[test]
fn particle_ids_are_the_peers_own() {
    for (convention, id, kind) in PINNED {
        assert_eq!(
            ParticleKind::from_id(id, convention),
            Ok(kind),
            "{convention:?}"
        );
        assert_eq!(kind.id(convention), Some(id), "{kind:?} in {convention:?}");
    }
    // DeepMind has one kinematic id: a moving wall goes out as 3 and comes back a fixed wall,
    // still kinematic (the lossy direction, on purpose).
    assert_eq!(
        ParticleKind::MovingWall.id(TypeConvention::Deepmind),
        Some(3)
    );
    let back = ParticleKind::from_id(3, TypeConvention::Deepmind).unwrap();
    assert_eq!(back, ParticleKind::Wall);
    assert!(back.is_kinematic());
    // LagrangeBench has one fluid: sand and goop have no id there; DeepMind's unused ids are
    // refused, not guessed.
    assert_eq!(ParticleKind::Sand.id(TypeConvention::Lagrangebench), None);
    assert_eq!(ParticleKind::Goop.id(TypeConvention::Lagrangebench), None);
    for id in [1, 2, 4, 8, 9, -1] {
        assert!(
            ParticleKind::from_id(id, TypeConvention::Deepmind).is_err(),
            "{id}"
        );
    }
}

/// The trajectories `expected.json` lists for one format.
fn expected(format: &str, convention: TypeConvention) -> Vec<Trajectory> {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json[format]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let shape: Vec<usize> = serde_json::from_value(t["shape"].clone()).unwrap();
            let position: Vec<f32> = t["position"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let kind = t["particle_type"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| pinned_kind(id.as_i64().unwrap(), convention))
                .collect();
            Trajectory::new(shape[2], shape[0], position, kind).unwrap()
        })
        .collect()
}

#[test]
fn deepmind_tfrecord_written_by_python_reads_exactly() {
    let dir = fixtures().join("deepmind");
    assert_eq!(
        DatasetFormat::detect(&dir).unwrap(),
        DatasetFormat::Deepmind
    );
    let imported = import_dataset(&dir, DatasetFormat::Deepmind).unwrap();
    let want = expected("deepmind", TypeConvention::Deepmind);
    assert_eq!(imported.dataset.splits[0], want);
    // Variable particle counts across records, and DeepMind's 3 is a kinematic boundary.
    assert_eq!(imported.dataset.splits[0][1].n_particles, 5);
    assert!(imported.dataset.splits[0][1].kind[2].is_kinematic());
    let m = &imported.dataset.metadata;
    assert_eq!((m.dim, m.sequence_length_train, m.dt), (2, 3, 0.0025));
    assert_eq!(m.particle_type_convention, TypeConvention::Deepmind);
    assert_eq!(m.num_particles_max, 5);
    assert!(m.dx > 0.0 && m.periodic_boundary_conditions == [false, false]);
    // The step context is read exactly; only one of the two records has one, so the import
    // leaves it out of both and says so.
    let records = read_tfrecord(&dir.join("train.tfrecord"), 2).unwrap();
    assert_eq!(records[1].key, 1);
    assert_eq!(records[0].step_context, None);
    assert_eq!(
        records[1].step_context,
        Some((1, vec![0.5, 0.25, 0.125, 1.0]))
    );
    assert!(
        imported.dropped.iter().any(|d| d.contains("step_context")),
        "{:?}",
        imported.dropped
    );
}

#[test]
fn geoelements_npz_written_by_numpy_reads_exactly() {
    let dir = fixtures().join("geoelements");
    assert_eq!(
        DatasetFormat::detect(&dir).unwrap(),
        DatasetFormat::Geoelements
    );
    let imported = load_geo(&dir);
    assert_eq!(
        imported.dataset.splits[0],
        expected("geoelements", TypeConvention::Deepmind)
    );
    // The nested metadata flavour ({"train": ..., "rollout": ...}) was read.
    assert_eq!(imported.dataset.metadata.dim, 3);
    assert_eq!(imported.dataset.metadata.sequence_length_train, 4);
    assert!(
        imported
            .dropped
            .iter()
            .any(|d| d.contains("material_property"))
    );
}

fn load_geo(dir: &Path) -> learnsim_data::Imported {
    import_dataset(dir, DatasetFormat::Geoelements).unwrap()
}

#[test]
fn lagrangebench_h5_written_by_h5py_reads_exactly_without_padding() {
    let dir = fixtures().join("lagrangebench");
    assert_eq!(
        DatasetFormat::detect(&dir).unwrap(),
        DatasetFormat::Lagrangebench
    );
    let dataset = load_dataset(&dir).unwrap();
    // The second trajectory was padded with two type-9 particles at 4.0; they are gone.
    assert_eq!(
        dataset.splits[0],
        expected("lagrangebench", TypeConvention::Lagrangebench)
    );
    let m = &dataset.metadata;
    assert_eq!(m.periodic_boundary_conditions, [true, true]);
    assert_eq!((m.dx, m.num_particles_max), (0.02, 4));
    assert_eq!(m.case, "TGV");
    assert!(dataset.splits[0][0].kind[3].is_kinematic());
}

fn sample_dataset() -> Dataset {
    let mut metadata = crate::common::metadata();
    metadata.particle_type_convention = TypeConvention::Deepmind;
    metadata.num_trajectories = [2, 1, 1];
    Dataset {
        metadata,
        splits: [
            vec![
                crate::common::trajectory(5, 7, 2, 3),
                crate::common::trajectory(5, 4, 2, 0),
            ],
            vec![crate::common::trajectory(5, 6, 2, 2)],
            vec![crate::common::trajectory(5, 5, 2, 4)],
        ],
    }
}

#[test]
fn a_dataset_survives_deepmind_geoelements_lagrangebench_and_back() {
    let root = tempfile::tempdir().unwrap();
    let original = sample_dataset();
    let chain = [
        DatasetFormat::Deepmind,
        DatasetFormat::Geoelements,
        DatasetFormat::Lagrangebench,
        DatasetFormat::Learnsim,
    ];
    let mut current = original.clone();
    for format in chain {
        let dir = root.path().join(format.name());
        export_dataset(&dir, format, &current).unwrap();
        assert_eq!(
            DatasetFormat::detect(&dir).unwrap(),
            match format {
                // Our LagrangeBench files carry our metadata keys as well, so they detect as ours.
                DatasetFormat::Lagrangebench => DatasetFormat::Learnsim,
                f => f,
            }
        );
        current = load_dataset(&dir).unwrap();
        assert_eq!(current.splits, original.splits, "after {}", format.name());
    }
    let mut expected = original.metadata.clone();
    expected.particle_type_convention = TypeConvention::Lagrangebench;
    assert_eq!(current.metadata, expected);
}

#[test]
fn sand_cannot_be_written_as_lagrangebench() {
    let mut data = sample_dataset();
    let t = &mut data.splits[0][0];
    t.kind[1] = ParticleKind::Sand;
    let dir = tempfile::tempdir().unwrap();
    let err = export_dataset(dir.path(), DatasetFormat::Lagrangebench, &data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("train.h5") && err.contains("Sand"), "{err}");
}

#[test]
fn python_reads_what_we_write_exactly() {
    let root = tempfile::tempdir().unwrap();
    let data = sample_dataset();
    for format in [DatasetFormat::Deepmind, DatasetFormat::Geoelements] {
        export_dataset(&root.path().join(format.name()), format, &data).unwrap();
    }
    let report = run_python(
        r#"
import json, struct, sys, warnings
warnings.simplefilter("error")  # numpy must load our pickles without a deprecation warning
import numpy as np
from tfrecord import example_pb2
from tfrecord.writer import TFRecordWriter

def expect(t, n, d):
    return (np.arange(t)[:, None, None] + np.arange(n)[None, :, None] / np.float32(128)
            + np.arange(d)[None, None, :] / np.float32(1024)).astype(np.float32)

root = sys.argv[1]
# DeepMind: framing with masked CRC32C, then SequenceExample.
raw = open(f"{root}/deepmind/train.tfrecord", "rb").read()
at, shapes = 0, []
while at < len(raw):
    (length,) = struct.unpack("<Q", raw[at:at + 8])
    assert raw[at + 8:at + 12] == TFRecordWriter.masked_crc(raw[at:at + 8])
    data = raw[at + 12:at + 12 + length]
    assert raw[at + 12 + length:at + 16 + length] == TFRecordWriter.masked_crc(data)
    at += 16 + length
    ex = example_pb2.SequenceExample.FromString(data)
    types = np.frombuffer(ex.context.feature["particle_type"].bytes_list.value[0], dtype=np.int64)
    frames = [np.frombuffer(f.bytes_list.value[0], dtype=np.float32)
              for f in ex.feature_lists.feature_list["position"].feature]
    pos = np.stack(frames).reshape(len(frames), len(types), 2)
    assert np.array_equal(pos, expect(*pos.shape)), "tfrecord positions"
    shapes.append((ex.context.feature["key"].int64_list.value[0], pos.shape, types.tolist()))
print("deepmind", shapes)
meta = json.load(open(f"{root}/deepmind/metadata.json"))
assert meta["sequence_length"] == 4 and meta["dim"] == 2, meta
# geoelements: their loader's exact logic (`load_npz_data`): our default is the `gns_data` layout.
with np.load(f"{root}/geoelements/train.npz", allow_pickle=True) as data_file:
    assert "gns_data" in data_file
    if "gns_data" in data_file:
        data = data_file["gns_data"]
    else:
        data = [item for _, item in data_file.items()]
for positions, particle_type in data:
    assert positions.dtype == np.float32 and np.array_equal(positions, expect(*positions.shape))
print("geoelements", [(p.shape, t.tolist()) for p, t in data])
"#,
        &[root.path()],
    );
    assert!(
        report.contains(
            "deepmind [(0, (5, 7, 2), [3, 5, 5, 3, 5, 5, 3]), (1, (5, 4, 2), [5, 5, 5, 5])]"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "geoelements [((5, 7, 2), [3, 5, 5, 3, 5, 5, 3]), ((5, 4, 2), [5, 5, 5, 5])]"
        ),
        "{report}"
    );
}

#[test]
fn rollout_pickles_load_in_python_as_deepminds_renderer_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollout_0.pkl");
    let t = crate::common::trajectory(10, 4, 2, 2);
    let types: Vec<i64> = t
        .kind
        .iter()
        .map(|k| k.id(TypeConvention::Deepmind).unwrap())
        .collect();
    let metadata = crate::common::metadata();
    let predicted: Vec<f32> = t.position[6 * 8..].iter().map(|x| x + 0.5).collect();
    write_rollout_pickle(
        &path,
        &RolloutExport {
            dim: 2,
            n_particles: 4,
            initial_positions: &t.position[..6 * 8],
            predicted: &predicted,
            ground_truth: &t.position[6 * 8..],
            particle_types: &types,
            metadata: &metadata,
        },
    )
    .unwrap();
    let report = run_python(
        r#"
import pickle, sys, warnings
warnings.simplefilter("error")  # numpy must load our pickles without a deprecation warning
import numpy as np
with open(sys.argv[1], "rb") as f:
    rollout = pickle.load(f)
# render_rollout.py: concatenate initial and rollout frames, mask by particle type, read bounds.
truth = np.concatenate([rollout["initial_positions"], rollout["ground_truth_rollout"]], axis=0)
pred = np.concatenate([rollout["initial_positions"], rollout["predicted_rollout"]], axis=0)
mask = rollout["particle_types"] == 3
expect = (np.arange(10)[:, None, None] + np.arange(4)[None, :, None] / np.float32(128)
          + np.arange(2)[None, None, :] / np.float32(1024)).astype(np.float32)
assert np.array_equal(truth, expect)
assert np.array_equal(pred[6:], expect[6:] + np.float32(0.5))
print(truth.shape, truth.dtype, mask.tolist(), rollout["metadata"]["bounds"], rollout["metadata"]["dt"])
"#,
        &[&path],
    );
    assert!(
        report.contains(
            "(10, 4, 2) float32 [True, False, True, False] [[0.1, 0.9], [0.1, 0.9]] 0.0025"
        ),
        "{report}"
    );
}

#[test]
fn a_missing_split_stays_missing_through_conversions() {
    // DeepMind and geoelements datasets often ship without a valid split.
    let root = tempfile::tempdir().unwrap();
    let mut data = sample_dataset();
    data.splits[1].clear();
    data.metadata.num_trajectories = [2, 0, 1];
    export_dataset(&root.path().join("dm"), DatasetFormat::Deepmind, &data).unwrap();
    assert!(!root.path().join("dm/valid.tfrecord").exists());
    let back = load_dataset(&root.path().join("dm")).unwrap();
    export_dataset(&root.path().join("ours"), DatasetFormat::Learnsim, &back).unwrap();
    let ours = load_dataset(&root.path().join("ours")).unwrap();
    assert_eq!(ours.splits, data.splits);
    assert_eq!(ours.metadata.num_trajectories, [2, 0, 1]);
}
