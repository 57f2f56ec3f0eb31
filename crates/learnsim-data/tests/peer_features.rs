//! The peers' files as they are written today (issue #38): geoelements' `gns_data` NPZ (an
//! object array of trajectory tuples) beside its older one-member-per-trajectory layout, their
//! `material_property` (per particle or per trajectory), and DeepMind's per-frame
//! `step_context`. Every file read here is written by numpy or the `tfrecord` package in the
//! test, not by our writers; every value is compared exactly; the features survive every chain
//! of conversions.

use crate::common::run_python;
use learnsim_core::{ParticleKind, Trajectory, TypeConvention};
use learnsim_data::{
    Dataset, DatasetFormat, GeoelementsLayout, export_dataset, export_dataset_with_progress,
    import_dataset, load_dataset,
};
use std::path::Path;

/// geoelements' flat metadata.json (the DeepMind keys), 2D.
const GEO_META: &str = r#"{"bounds": [[0.0, 1.0], [0.0, 1.0]], "sequence_length": 4,
 "default_connectivity_radius": 0.03, "dim": 2, "dt": 0.0025,
 "vel_mean": [0.0, 0.0], "vel_std": [0.01, 0.01], "acc_mean": [0.0, 0.0], "acc_std": [0.001, 0.001]}"#;

/// Writes `train.npz` with numpy alone, in the layout `script` builds (it sees `rng`,
/// `trajectory(t, n)` and `expected`, a list it must fill with each trajectory's values), and
/// returns what the script recorded as JSON.
fn write_with_numpy(dir: &Path, script: &str) -> serde_json::Value {
    std::fs::write(dir.join("metadata.json"), GEO_META).unwrap();
    let prelude = r#"
import json, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(38)
def trajectory(t, n):
    # float64, as geoelements' converters write positions (np.stack of pandas columns)
    return rng.uniform(0.1, 0.9, size=(t, n, 2))
expected = []
"#;
    let epilogue = r#"
print(json.dumps(expected))
"#;
    let report = run_python(
        &format!("{prelude}{script}{epilogue}"),
        &[&dir.join("train.npz")],
    );
    serde_json::from_str(report.trim()).expect("the script prints JSON")
}

/// The trajectory `expected` describes: positions (cast to f32 as we store them), DeepMind ids,
/// and the material broadcast to every particle (or none).
fn described(item: &serde_json::Value) -> Trajectory {
    let shape: Vec<usize> = serde_json::from_value(item["shape"].clone()).unwrap();
    let position: Vec<f32> = item["position"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let kind: Vec<ParticleKind> = item["particle_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| ParticleKind::from_id(id.as_i64().unwrap(), TypeConvention::Deepmind).unwrap())
        .collect();
    let t = Trajectory::new(shape[2], shape[0], position, kind).unwrap();
    match item.get("material") {
        Some(serde_json::Value::Array(values)) => {
            let values = values.iter().map(|v| v.as_f64().unwrap() as f32).collect();
            t.with_material(1, values).unwrap()
        }
        _ => t,
    }
}

/// `data` through every other format (geoelements in both layouts, where the layout can hold
/// what it carries) and back into learnsim's own files, values identical at every stop.
/// LagrangeBench has no id for sand: there the export must refuse, naming the kind.
fn round_trip_everywhere(data: &Dataset) {
    let root = tempfile::tempdir().unwrap();
    let has_context = data
        .splits
        .iter()
        .flatten()
        .any(|t| !t.step_context.is_empty());
    let has_sand = data
        .splits
        .iter()
        .flatten()
        .any(|t| t.kind.contains(&ParticleKind::Sand));
    for format in DatasetFormat::ALL {
        for layout in GeoelementsLayout::ALL {
            if format != DatasetFormat::Geoelements && layout != GeoelementsLayout::GnsData {
                continue;
            }
            let dir = root
                .path()
                .join(format!("{}-{}", format.name(), layout.name()));
            let written = export_dataset_with_progress(&dir, format, layout, data, &mut |_| {});
            let refused = (has_context && layout == GeoelementsLayout::Legacy)
                || (has_sand && format == DatasetFormat::Lagrangebench);
            if refused {
                let err = written.unwrap_err().to_string();
                assert!(err.contains("gns_data") || err.contains("Sand"), "{err}");
                continue;
            }
            written.unwrap();
            let back = load_dataset(&dir).unwrap();
            assert_eq!(back.splits, data.splits, "{}", dir.display());
            let ours = dir.with_extension("learnsim");
            export_dataset(&ours, DatasetFormat::Learnsim, &back).unwrap();
            let again = load_dataset(&ours).unwrap();
            assert_eq!(again.splits, data.splits, "{} then learnsim", dir.display());
            assert_eq!(again.metadata.features, data.metadata.features);
        }
    }
}

fn read_geo(dir: &Path) -> Dataset {
    let imported = import_dataset(dir, DatasetFormat::Geoelements).unwrap();
    assert!(imported.dropped.is_empty(), "{:?}", imported.dropped);
    imported.dataset
}

/// geoelements' current converter: `np.empty(n, dtype=object)` filled with tuples
/// `(positions, particle_type, material_property)`, saved as the one member `gns_data`. Their
/// sand sets store tan φ; one trajectory here gives it per particle, one as a numpy scalar (their
/// loader broadcasts it with `np.full`), and the particle types once as an array and once as a
/// Python int.
#[test]
fn gns_data_with_material_written_by_numpy_reads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let expected = write_with_numpy(
        dir.path(),
        r#"
items = []
for t, n, phi, scalar in [(5, 4, 30.0, False), (4, 6, 42.5, True)]:
    pos = trajectory(t, n)
    tan_phi = np.tan(np.deg2rad(phi))
    if scalar:
        items.append((pos, 6, np.float64(tan_phi)))
        types, material = [6] * n, [float(tan_phi)] * n
    else:
        per_particle = np.full(n, tan_phi)
        per_particle[0] = 0.25  # not all equal: the per-particle values must be kept
        items.append((pos, np.full(n, 6, dtype=int), per_particle))
        types, material = [6] * n, per_particle.tolist()
    expected.append({"position": pos.ravel().tolist(), "shape": list(pos.shape),
                     "particle_type": types, "material": material})
data = np.empty(len(items), dtype=object)
for i, item in enumerate(items):
    data[i] = item
np.savez_compressed(out, gns_data=data)
"#,
    );
    let data = read_geo(dir.path());
    let want: Vec<Trajectory> = expected.as_array().unwrap().iter().map(described).collect();
    assert_eq!(data.splits[0], want);
    assert_eq!(data.metadata.features.material_property, 1);
    assert_eq!(data.splits[0][0].material.values[0], 0.25);
    round_trip_everywhere(&data);
}

#[test]
fn gns_data_without_material_written_by_numpy_reads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let expected = write_with_numpy(
        dir.path(),
        r#"
data = np.empty(2, dtype=object)
for i, (t, n) in enumerate([(5, 3), (3, 5)]):
    pos = trajectory(t, n)
    types = np.array([5] * (n - 1) + [3])
    data[i] = (pos, types)
    expected.append({"position": pos.ravel().tolist(), "shape": list(pos.shape),
                     "particle_type": types.tolist()})
np.savez_compressed(out, gns_data=data)
"#,
    );
    let data = read_geo(dir.path());
    let want: Vec<Trajectory> = expected.as_array().unwrap().iter().map(described).collect();
    assert_eq!(data.splits[0], want);
    assert!(data.metadata.features.is_empty());
    round_trip_everywhere(&data);
}

/// The older layout (one member per trajectory, each an object array), with and without the
/// material property.
#[test]
fn legacy_layout_written_by_numpy_reads_exactly_with_and_without_material() {
    for with_material in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let expected = write_with_numpy(
            dir.path(),
            &format!(
                r#"
with_material = {}
sims = {{}}
for k, (t, n) in enumerate([(4, 4), (6, 3)]):
    pos = trajectory(t, n)
    types = np.full(n, 6)
    item = np.empty(3 if with_material else 2, dtype=object)
    item[0], item[1] = pos, types
    entry = {{"position": pos.ravel().tolist(), "shape": list(pos.shape),
              "particle_type": types.tolist()}}
    if with_material:
        item[2] = np.full(n, np.tan(np.deg2rad(20.0 + 10 * k)))
        entry["material"] = item[2].tolist()
    sims[f"simulation_{{k}}"] = item
    expected.append(entry)
np.savez_compressed(out, **sims)
"#,
                if with_material { "True" } else { "False" }
            ),
        );
        let data = read_geo(dir.path());
        let want: Vec<Trajectory> = expected.as_array().unwrap().iter().map(described).collect();
        assert_eq!(data.splits[0], want, "with material: {with_material}");
        assert_eq!(
            data.metadata.features.material_property,
            usize::from(with_material)
        );
        round_trip_everywhere(&data);
    }
}

/// DeepMind's step context, written by the `tfrecord` package (its own copy of TensorFlow's
/// example.proto), one float32 [C] bytes feature per frame, as their WaterRamps-style sets.
#[test]
fn deepmind_step_context_written_by_tfrecord_reads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_python(
        r#"
import json, sys
import numpy as np
from tfrecord.writer import TFRecordWriter
out = sys.argv[1]
rng = np.random.default_rng(7)
writer = TFRecordWriter(f"{out}/train.tfrecord")
expected = []
for key, (t, n) in enumerate([(4, 3), (5, 2)]):
    pos = rng.uniform(0.1, 0.9, size=(t, n, 2)).astype(np.float32)
    types = np.array([5] * n, dtype=np.int64)
    ctx = rng.normal(size=(t, 2)).astype(np.float32)
    writer.write({"key": (key, "int"), "particle_type": (types.tobytes(), "byte")},
                 {"position": ([f.tobytes() for f in pos], "byte"),
                  "step_context": ([c.tobytes() for c in ctx], "byte")})
    expected.append({"position": [float(v) for v in pos.ravel()], "shape": list(pos.shape),
                     "particle_type": types.tolist(), "context": [float(v) for v in ctx.ravel()]})
writer.close()
meta = {"bounds": [[0.1, 0.9], [0.1, 0.9]], "sequence_length": 3, "default_connectivity_radius": 0.015,
        "dim": 2, "dt": 0.0025, "vel_mean": [0.0, 0.0], "vel_std": [0.01, 0.01],
        "acc_mean": [0.0, 0.0], "acc_std": [0.001, 0.001]}
json.dump(meta, open(f"{out}/metadata.json", "w"))
print(json.dumps(expected))
"#,
        &[dir.path()],
    );
    let expected: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    let imported = import_dataset(dir.path(), DatasetFormat::Deepmind).unwrap();
    assert!(imported.dropped.is_empty(), "{:?}", imported.dropped);
    let want: Vec<Trajectory> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let context: Vec<f32> = item["context"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let t = described(item);
            let frames = t.n_frames;
            t.with_step_context(context.len() / frames, context)
                .unwrap()
        })
        .collect();
    assert_eq!(imported.dataset.splits[0], want);
    round_trip_everywhere(&imported.dataset);
    let f = &imported.dataset.metadata.features;
    assert_eq!(f.step_context, 2);
    // DeepMind's context normalisation: mean and std of each column over the training frames.
    let column: Vec<f64> = want
        .iter()
        .flat_map(|t| t.step_context.values.chunks(2).map(|r| f64::from(r[0])))
        .collect();
    let mean = column.iter().sum::<f64>() / column.len() as f64;
    assert!((f.context_mean[0] - mean).abs() < 1e-12, "{f:?}");
}

/// A context on only some trajectories cannot be read by a model: it is dropped from all and
/// the import says so.
#[test]
fn a_feature_on_only_some_trajectories_is_dropped_and_named() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop/deepmind");
    let imported = import_dataset(&fixtures, DatasetFormat::Deepmind).unwrap();
    assert!(
        imported
            .dropped
            .iter()
            .any(|d| d.contains("step_context") && d.contains("1 of 2")),
        "{:?}",
        imported.dropped
    );
    assert!(imported.dataset.metadata.features.is_empty());
    assert!(
        imported.dataset.splits[0]
            .iter()
            .all(|t| t.step_context.is_empty())
    );
}

/// A dataset with material properties or a step context (water particles, so that
/// LagrangeBench can hold them too).
fn dataset_with(material: bool, context: bool) -> Dataset {
    let mut metadata = crate::common::metadata();
    metadata.particle_type_convention = TypeConvention::Deepmind;
    let with = |t: Trajectory, seed: f32| {
        let (n, frames) = (t.n_particles, t.n_frames);
        let t = if material {
            let values = (0..n).map(|p| seed + p as f32 / 8.0).collect();
            t.with_material(1, values).unwrap()
        } else {
            t
        };
        if context {
            let values = (0..frames * 3).map(|k| seed - k as f32 / 16.0).collect();
            t.with_step_context(3, values).unwrap()
        } else {
            t
        }
    };
    let splits = [
        vec![
            with(crate::common::trajectory(5, 7, 2, 0), 0.5),
            with(crate::common::trajectory(6, 4, 2, 0), 0.75),
        ],
        vec![with(crate::common::trajectory(5, 6, 2, 0), 1.0)],
        vec![with(crate::common::trajectory(5, 5, 2, 0), 1.25)],
    ];
    metadata.features = learnsim_data::features_of(&splits);
    Dataset { metadata, splits }
}

/// learnsim → every other format → learnsim, values identical, for material properties (all
/// four formats and both geoelements layouts) and step contexts (every format that has a place
/// for one: geoelements' legacy layout has none and refuses, naming the layout to use).
#[test]
fn features_survive_every_format_and_back() {
    let root = tempfile::tempdir().unwrap();
    for (material, context) in [(true, false), (false, true), (true, true)] {
        let original = dataset_with(material, context);
        for format in DatasetFormat::ALL {
            for layout in GeoelementsLayout::ALL {
                if format != DatasetFormat::Geoelements && layout != GeoelementsLayout::GnsData {
                    continue;
                }
                let dir = root.path().join(format!(
                    "{}-{}-{material}-{context}",
                    format.name(),
                    layout.name()
                ));
                let written =
                    export_dataset_with_progress(&dir, format, layout, &original, &mut |_| {});
                if context && layout == GeoelementsLayout::Legacy {
                    let err = written.unwrap_err().to_string();
                    assert!(err.contains("gns_data"), "{err}");
                    continue;
                }
                written.unwrap();
                let back = load_dataset(&dir).unwrap();
                assert_eq!(back.splits, original.splits, "{}", dir.display());
                assert_eq!(back.metadata.features, original.metadata.features);
                // ... and on into learnsim's own files.
                let ours = dir.with_extension("ours");
                export_dataset(&ours, DatasetFormat::Learnsim, &back).unwrap();
                assert_eq!(load_dataset(&ours).unwrap().splits, original.splits);
            }
        }
    }
}

/// Their readers still read what we write with the features: geoelements' loader logic
/// (`data_file["gns_data"]`, `len(data[0]) >= 3`, `np.full(n, data[i][2])`), the older layout's
/// `[item for _, item in data_file.items()]`, h5py on the HDF5 groups, and TensorFlow's
/// SequenceExample parsed by the `tfrecord` package's protobuf.
#[test]
fn peers_read_the_features_we_write() {
    let root = tempfile::tempdir().unwrap();
    let data = dataset_with(true, true);
    let only_material = dataset_with(true, false);
    let gns = root.path().join("gns");
    let legacy = root.path().join("legacy");
    let h5 = root.path().join("ours");
    let dm = root.path().join("dm");
    export_dataset(&gns, DatasetFormat::Geoelements, &data).unwrap();
    export_dataset_with_progress(
        &legacy,
        DatasetFormat::Geoelements,
        GeoelementsLayout::Legacy,
        &only_material,
        &mut |_| {},
    )
    .unwrap();
    export_dataset(&h5, DatasetFormat::Learnsim, &data).unwrap();
    export_dataset(&dm, DatasetFormat::Deepmind, &data).unwrap();
    let report = run_python(
        r#"
import sys, struct, warnings
warnings.simplefilter("error")
import numpy as np, h5py
from tfrecord import example_pb2
gns, legacy, h5, dm = sys.argv[1:5]

with np.load(f"{gns}/train.npz", allow_pickle=True) as f:
    data = f["gns_data"]
    assert len(data[0]) >= 3, len(data[0])
    pos, types, material = data[0]
    assert pos.shape == (5, 7, 2) and types.shape == (7,)
    assert np.array_equal(np.full(7, material), material)
    assert abs(float(material[1]) - 0.625) < 1e-7, material
    ctx = f["step_context"]
    assert ctx[1].shape == (6, 3), ctx[1].shape
print("gns_data ok")

with np.load(f"{legacy}/train.npz", allow_pickle=True) as f:
    items = [item for _, item in f.items()]
    assert len(items) == 2 and len(items[1]) == 3
    assert abs(float(items[1][2][0]) - 0.75) < 1e-7
print("legacy ok")

with h5py.File(f"{h5}/train.h5", "r") as f:
    g = f["00001"]
    assert g["material_property"].shape == (4,), g["material_property"].shape
    assert g["step_context"].shape == (6, 3)
    assert abs(float(g["step_context"][0, 0]) - 0.75) < 1e-7
print("h5 ok")

raw = open(f"{dm}/train.tfrecord", "rb").read()
length = struct.unpack("<Q", raw[:8])[0]
example = example_pb2.SequenceExample()
example.ParseFromString(raw[12:12 + length])
frames = example.feature_lists.feature_list["step_context"].feature
assert len(frames) == 5
assert np.frombuffer(frames[1].bytes_list.value[0], np.float32).tolist() == [0.3125, 0.25, 0.1875]
material = np.frombuffer(example.context.feature["material_property"].bytes_list.value[0], np.float32)
assert material.shape == (7,) and material[0] == 0.5
print("tfrecord ok")
"#,
        &[&gns, &legacy, &h5, &dm],
    );
    for part in ["gns_data ok", "legacy ok", "h5 ok", "tfrecord ok"] {
        assert!(report.contains(part), "{report}");
    }
}

/// The import error of a `gns_data` file whose second item `item` (Python) builds.
fn refusal_of_item(item: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_with_numpy(
        dir.path(),
        &format!(
            "data = np.empty(2, dtype=object)\n\
             data[0] = (trajectory(3, 2), np.full(2, 6))\n\
             data[1] = {item}\n\
             np.savez_compressed(out, gns_data=data)\n"
        ),
    );
    import_dataset(dir.path(), DatasetFormat::Geoelements)
        .unwrap_err()
        .to_string()
}

/// An object array of anything else is refused naming the key, the item and what it held.
#[test]
fn malformed_gns_data_names_the_item() {
    let err = refusal_of_item("(trajectory(3, 2), np.full(2, 6), np.ones(5))");
    assert!(
        err.contains("`gns_data` item 1") && err.contains("material_property has shape [5]"),
        "{err}"
    );
    let err = refusal_of_item("\"a string\"");
    assert!(
        err.contains("train.npz")
            && err.contains("gns_data")
            && err.contains("object item 1")
            && err.contains("string \"a string\""),
        "{err}"
    );
}
