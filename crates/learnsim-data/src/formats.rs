//! The field's three dataset formats, read and written as whole datasets.
//!
//! | format | splits | particle ids |
//! |---|---|---|
//! | `learnsim` | `{split}.h5` + our metadata.json | the convention metadata.json names |
//! | `lagrangebench` | `{split}.h5` + their metadata.json | LagrangeBench `NodeType` (9 = padding) |
//! | `deepmind` | `{split}.tfrecord` + their metadata.json | DeepMind (3 = kinematic) |
//! | `geoelements` | `{split}.npz` + metadata.json, flat or nested under `train`/`rollout` | DeepMind |
//!
//! Every metadata.json we write for a foreign format carries the format's own keys (so its tools
//! read it) plus our full metadata under `learnsim` (ignored by them), so a dataset survives any
//! chain of conversions unchanged. Metadata written by the other tools lacks our keys; they are
//! filled in from the data: `dx` as the median nearest-neighbour distance of the first training
//! frame, `periodic_boundary_conditions` false, gravity zero, counts from the files.

use crate::npz::{object_items, read_npz, write_npz};
use crate::pickle::{ArrayData, ArrayValues, NdArray, PyValue};
use crate::tfrecord::{DeepmindRecord, read_tfrecord, write_tfrecord};
use crate::{DataError, Dataset, SPLITS, read_split, write_bytes_atomically, write_split};
use learnsim_core::{
    ExtraFeatures, FeatureTable, Metadata, ParticleKind, Trajectory, TypeConvention,
};
use serde_json::{Map, Value, json};
use std::path::Path;

/// LagrangeBench's padding type id (`matscipy_pad`): padded particles are not particles.
pub const LAGRANGEBENCH_PADDING_TYPE: i64 = 9;

/// A dataset format on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetFormat {
    /// Ours: LagrangeBench's HDF5 layout with our metadata keys.
    Learnsim,
    /// DeepMind's `learning_to_simulate` TFRecords.
    Deepmind,
    /// geoelements/gns NPZ archives.
    Geoelements,
    /// LagrangeBench HDF5.
    Lagrangebench,
}

impl DatasetFormat {
    /// Every format.
    pub const ALL: [DatasetFormat; 4] = [
        Self::Learnsim,
        Self::Deepmind,
        Self::Geoelements,
        Self::Lagrangebench,
    ];

    /// Lower-case name, as the CLI takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Learnsim => "learnsim",
            Self::Deepmind => "deepmind",
            Self::Geoelements => "geoelements",
            Self::Lagrangebench => "lagrangebench",
        }
    }

    /// The file of `split` (`train`, `valid`, `test`).
    pub fn split_file(self, split: &str) -> String {
        match self {
            Self::Learnsim | Self::Lagrangebench => format!("{split}.h5"),
            Self::Deepmind => format!("{split}.tfrecord"),
            Self::Geoelements => format!("{split}.npz"),
        }
    }

    /// The particle-id convention the format's files use.
    pub fn convention(self) -> Option<TypeConvention> {
        match self {
            Self::Learnsim => None,
            Self::Deepmind | Self::Geoelements => Some(TypeConvention::Deepmind),
            Self::Lagrangebench => Some(TypeConvention::Lagrangebench),
        }
    }

    /// Which format the dataset in `dir` is, from its files.
    pub fn detect(dir: &Path) -> Result<Self, DataError> {
        if dir.join("train.tfrecord").exists() {
            return Ok(Self::Deepmind);
        }
        if dir.join("train.npz").exists() {
            return Ok(Self::Geoelements);
        }
        if dir.join("train.h5").exists() {
            let path = dir.join("metadata.json");
            let value = read_json(&path)?;
            return Ok(if value.get("particle_type_convention").is_some() {
                Self::Learnsim
            } else {
                Self::Lagrangebench
            });
        }
        Err(DataError::invalid(
            dir,
            "holds no dataset: expected train.h5 (learnsim, LagrangeBench), train.tfrecord (DeepMind) or train.npz (geoelements)",
        ))
    }
}

/// A dataset read from a foreign format, with what the conversion left out.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The dataset.
    pub dataset: Dataset,
    /// Things the source held that our dataset has no place for (step contexts, material
    /// properties), one line each.
    pub dropped: Vec<String>,
}

/// Reads the dataset in `dir`, which is in `format`. Every trajectory must have at least two
/// frames (one velocity): nothing can be learned or scored from fewer.
pub fn import_dataset(dir: &Path, format: DatasetFormat) -> Result<Imported, DataError> {
    let imported = import_unchecked(dir, format)?;
    for (k, split) in SPLITS.iter().enumerate() {
        for (i, t) in imported.dataset.splits[k].iter().enumerate() {
            if t.n_frames < 2 {
                return Err(DataError::invalid(
                    &dir.join(format.split_file(split)),
                    format!(
                        "trajectory {i} has {} frame; a trajectory needs at least 2 (one velocity)",
                        t.n_frames
                    ),
                ));
            }
        }
    }
    Ok(imported)
}

fn import_unchecked(dir: &Path, format: DatasetFormat) -> Result<Imported, DataError> {
    if format == DatasetFormat::Learnsim {
        return Ok(Imported {
            dataset: crate::load_learnsim_dataset(dir)?,
            dropped: vec![],
        });
    }
    let meta_path = dir.join("metadata.json");
    let json = read_json(&meta_path)?;
    let json = match (format, json.get("train")) {
        // geoelements' nested flavour: {"train": {...}, "rollout": {...}}.
        (DatasetFormat::Geoelements, Some(train)) if train.is_object() => train.clone(),
        _ => json,
    };
    let dim = json_usize(&json, "dim", &meta_path)?;
    if !(1..=3).contains(&dim) {
        return Err(DataError::invalid(
            &meta_path,
            format!("`dim` is {dim}, expected 1, 2 or 3"),
        ));
    }
    let convention = format.convention().expect("foreign formats have one");
    let mut dropped = Vec::new();
    let mut splits: [Vec<Trajectory>; 3] = Default::default();
    for (k, split) in SPLITS.iter().enumerate() {
        let path = dir.join(format.split_file(split));
        if k > 0 && !path.exists() {
            continue; // DeepMind and geoelements datasets often ship without a valid split.
        }
        splits[k] = match format {
            DatasetFormat::Deepmind => {
                let records = read_tfrecord(&path, dim)?;
                records
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let bad = |e: String| DataError::invalid(&path, format!("record {i}: {e}"));
                        let kind = kinds(&r.particle_type, convention).map_err(bad)?;
                        let mut t = Trajectory::new(dim, r.n_frames, r.position, kind)
                            .map_err(|e| bad(e.to_string()))?;
                        if let Some((width, values)) = r.step_context {
                            t = t
                                .with_step_context(width, values)
                                .map_err(|e| bad(e.to_string()))?;
                        }
                        if let Some((width, values)) = r.material {
                            t = t
                                .with_material(width, values)
                                .map_err(|e| bad(e.to_string()))?;
                        }
                        Ok(t)
                    })
                    .collect::<Result<_, _>>()?
            }
            DatasetFormat::Geoelements => read_geoelements_split(&path, dim)?,
            DatasetFormat::Lagrangebench => read_split(&path, TypeConvention::Lagrangebench)?,
            DatasetFormat::Learnsim => unreachable!("handled above"),
        };
    }
    harmonise_features(&mut splits, &mut dropped);
    let metadata = match json.get("learnsim") {
        Some(ours) => {
            let mut m: Metadata = serde_json::from_value(ours.clone()).map_err(|e| {
                DataError::invalid(&meta_path, format!("`learnsim` is not our metadata: {e}"))
            })?;
            m.particle_type_convention = convention;
            m.features = features_of(&splits);
            m
        }
        None => foreign_metadata(&json, &meta_path, format, dim, &splits)?,
    };
    let mut metadata = metadata;
    // What the files hold, whatever the metadata says (a split may have been left out).
    metadata.num_trajectories = [splits[0].len(), splits[1].len(), splits[2].len()];
    metadata
        .validate()
        .map_err(|e| DataError::invalid(&meta_path, e.to_string()))?;
    for (k, split) in SPLITS.iter().enumerate() {
        for (i, t) in splits[k].iter().enumerate() {
            if t.n_particles > metadata.num_particles_max {
                return Err(DataError::invalid(
                    &dir.join(format.split_file(split)),
                    format!(
                        "trajectory {i} has {} particles, more than num_particles_max = {}",
                        t.n_particles, metadata.num_particles_max
                    ),
                ));
            }
        }
    }
    Ok(Imported {
        dataset: Dataset { metadata, splits },
        dropped,
    })
}

/// Writes `dataset` into `dir` in `format` (every file atomically; geoelements in its current
/// `gns_data` layout).
pub fn export_dataset(
    dir: &Path,
    format: DatasetFormat,
    dataset: &Dataset,
) -> Result<(), DataError> {
    export_dataset_with_progress(
        dir,
        format,
        GeoelementsLayout::default(),
        dataset,
        &mut |_| {},
    )
}

/// [`export_dataset`] with geoelements' layout chosen, calling `progress(n)` after each split
/// with the `n` trajectories it held.
pub fn export_dataset_with_progress(
    dir: &Path,
    format: DatasetFormat,
    layout: GeoelementsLayout,
    dataset: &Dataset,
    progress: &mut dyn FnMut(usize),
) -> Result<(), DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let mut metadata = dataset.metadata.clone();
    if let Some(convention) = format.convention() {
        metadata.particle_type_convention = convention;
    }
    let convention = metadata.particle_type_convention;
    for (k, split) in SPLITS.iter().enumerate() {
        let path = dir.join(format.split_file(split));
        let trajectories = &dataset.splits[k];
        if trajectories.is_empty() {
            continue;
        }
        match format {
            DatasetFormat::Learnsim | DatasetFormat::Lagrangebench => {
                write_split(&path, trajectories, convention)?;
            }
            DatasetFormat::Deepmind => {
                let records = trajectories
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        Ok(DeepmindRecord {
                            key: i as i64,
                            dim: t.dim,
                            particle_type: ids(t, convention, &path, i)?,
                            position: t.position.clone(),
                            n_frames: t.n_frames,
                            step_context: (!t.step_context.is_empty())
                                .then(|| (t.step_context.width, t.step_context.values.clone())),
                            material: (!t.material.is_empty())
                                .then(|| (t.material.width, t.material.values.clone())),
                        })
                    })
                    .collect::<Result<Vec<_>, DataError>>()?;
                write_tfrecord(&path, &records)?;
            }
            DatasetFormat::Geoelements => {
                let with_context = trajectories.iter().any(|t| !t.step_context.is_empty());
                if with_context && layout == GeoelementsLayout::Legacy {
                    return Err(DataError::invalid(
                        &path,
                        "the legacy geoelements layout has no place for a per-frame \
                         `step_context` (their loader reads every member as a trajectory); use \
                         --geoelements-layout gns_data",
                    ));
                }
                let items = trajectories
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let mut items = vec![
                            PyValue::Array(
                                vec![t.n_frames, t.n_particles, t.dim],
                                ArrayValues::F32(t.position.clone()),
                            ),
                            PyValue::Array(
                                vec![t.n_particles],
                                ArrayValues::I64(ids(t, convention, &path, i)?),
                            ),
                        ];
                        match t.material.width {
                            0 => {}
                            1 => items.push(PyValue::Array(
                                vec![t.n_particles],
                                ArrayValues::F32(t.material.values.clone()),
                            )),
                            w => {
                                return Err(DataError::invalid(
                                    &path,
                                    format!(
                                        "trajectory {i}: geoelements' material_property is one \
                                         value per particle, this dataset has {w}"
                                    ),
                                ));
                            }
                        }
                        Ok(items)
                    })
                    .collect::<Result<Vec<_>, DataError>>()?;
                let members: Vec<(String, PyValue)> = match layout {
                    GeoelementsLayout::GnsData => {
                        let mut members = vec![(
                            GNS_DATA.to_string(),
                            PyValue::ObjectArray(items.into_iter().map(PyValue::Tuple).collect()),
                        )];
                        if with_context {
                            members.push((
                                STEP_CONTEXT.to_string(),
                                PyValue::ObjectArray(
                                    trajectories
                                        .iter()
                                        .map(|t| {
                                            PyValue::Array(
                                                vec![t.n_frames, t.step_context.width],
                                                ArrayValues::F32(t.step_context.values.clone()),
                                            )
                                        })
                                        .collect(),
                                ),
                            ));
                        }
                        members
                    }
                    GeoelementsLayout::Legacy => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, items)| (format!("simulation_{i}"), PyValue::ObjectArray(items)))
                        .collect(),
                };
                let bytes = write_npz(&members).map_err(|e| DataError::invalid(&path, e))?;
                write_bytes_atomically(&path, &bytes)?;
            }
        }
        progress(trajectories.len());
    }
    let meta_path = dir.join("metadata.json");
    let text = match format {
        DatasetFormat::Learnsim | DatasetFormat::Lagrangebench => {
            return crate::write_metadata(&meta_path, &metadata);
        }
        DatasetFormat::Deepmind | DatasetFormat::Geoelements => {
            let mut m = deepmind_keys(&metadata);
            if metadata.features.step_context > 0 {
                m.insert("context_mean".into(), json!(metadata.features.context_mean));
                m.insert("context_std".into(), json!(metadata.features.context_std));
            }
            m.insert(
                "learnsim".into(),
                serde_json::to_value(&metadata).expect("metadata serialises"),
            );
            serde_json::to_string_pretty(&Value::Object(m)).expect("json serialises")
        }
    };
    write_bytes_atomically(&meta_path, text.as_bytes())
}

/// The features every trajectory carries, from the first one (after [`harmonise_features`],
/// or as checked by the loaders, they all agree).
/// The context's statistics come from the first split (the training split).
pub fn features_of(splits: &[Vec<Trajectory>]) -> ExtraFeatures {
    let first = splits.iter().flatten().next();
    let width = first.map_or(0, |t| t.step_context.width);
    let mut sum = vec![0.0f64; width];
    let mut sq = vec![0.0f64; width];
    let mut count = 0usize;
    for t in splits.first().into_iter().flatten() {
        for row in t.step_context.values.chunks_exact(width.max(1)) {
            for (c, &v) in row.iter().enumerate() {
                sum[c] += f64::from(v);
                sq[c] += f64::from(v) * f64::from(v);
            }
            count += 1;
        }
    }
    let n = count.max(1) as f64;
    let context_mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let context_std = sq
        .iter()
        .zip(&context_mean)
        .map(|(q, m)| {
            let std = (q / n - m * m).max(0.0).sqrt();
            // A constant column normalises to zero with any std; 1 keeps it finite.
            if std > 1e-8 { std } else { 1.0 }
        })
        .collect();
    ExtraFeatures {
        material_property: first.map_or(0, |t| t.material.width),
        step_context: width,
        context_mean,
        context_std,
    }
}

/// A model can only use a feature every trajectory has: one that some trajectories lack, or
/// carry at another width, is removed from all and named in `dropped`.
fn harmonise_features(splits: &mut [Vec<Trajectory>; 3], dropped: &mut Vec<String>) {
    type Table = fn(&mut Trajectory) -> &mut FeatureTable;
    let tables: [(&str, Table); 2] = [
        ("material_property", |t| &mut t.material),
        ("step_context", |t| &mut t.step_context),
    ];
    for (name, table) in tables {
        let mut widths: Vec<usize> = splits
            .iter_mut()
            .flatten()
            .map(|t| table(t).width)
            .collect();
        let total = widths.len();
        let with = widths.iter().filter(|&&w| w > 0).count();
        widths.sort_unstable();
        widths.dedup();
        if with > 0 && widths.len() > 1 {
            splits
                .iter_mut()
                .flatten()
                .for_each(|t| *table(t) = FeatureTable::NONE);
            dropped.push(format!(
                "`{name}`: {with} of {total} trajectories carry it (widths {widths:?}); a feature \
                 a model reads must be on every trajectory at one width"
            ));
        }
    }
}

/// DeepMind's metadata.json keys (geoelements' flat flavour is the same).
fn deepmind_keys(m: &Metadata) -> Map<String, Value> {
    let bounds: Vec<Value> = m.bounds.iter().map(|b| json!([b[0], b[1]])).collect();
    let mut out = Map::new();
    out.insert("bounds".into(), json!(bounds));
    out.insert("sequence_length".into(), json!(m.sequence_length_train));
    out.insert(
        "default_connectivity_radius".into(),
        json!(m.default_connectivity_radius),
    );
    out.insert("dim".into(), json!(m.dim));
    out.insert("dt".into(), json!(m.dt));
    out.insert("vel_mean".into(), json!(m.vel_mean));
    out.insert("vel_std".into(), json!(m.vel_std));
    out.insert("acc_mean".into(), json!(m.acc_mean));
    out.insert("acc_std".into(), json!(m.acc_std));
    out
}

/// geoelements' two NPZ layouts: one member `gns_data` (an object array of trajectory tuples,
/// what their current tools write and their loader reads first) or one member per trajectory
/// (the older layout: each an object array).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeoelementsLayout {
    /// `gns_data`: an object array of `(positions, particle_type[, material_property])` tuples.
    #[default]
    GnsData,
    /// `simulation_0`, `simulation_1`, …: each an object array of the same items.
    Legacy,
}

impl GeoelementsLayout {
    /// Both layouts.
    pub const ALL: [GeoelementsLayout; 2] = [Self::GnsData, Self::Legacy];

    /// The name the CLI takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::GnsData => "gns_data",
            Self::Legacy => "legacy",
        }
    }
}

/// The member that holds a whole geoelements dataset in their current layout.
const GNS_DATA: &str = "gns_data";
/// Our member beside it with each trajectory's `[T, C]` step context.
const STEP_CONTEXT: &str = "step_context";

fn read_geoelements_split(path: &Path, dim: usize) -> Result<Vec<Trajectory>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let members = read_npz(&bytes).map_err(|e| DataError::invalid(path, e))?;
    if members.is_empty() {
        return Err(DataError::invalid(path, "holds no trajectories"));
    }
    // (name for errors, the trajectory's items)
    let mut items: Vec<(String, &[NdArray])> = Vec::new();
    let member = |key: &str| members.iter().find(|(name, _)| name == key).map(|(_, a)| a);
    let mut contexts: Option<&[NdArray]> = None;
    if let Some(array) = member(GNS_DATA) {
        // As geoelements' loader: `gns_data` holds the dataset; our `step_context` member
        // (one [T, C] array per trajectory) rides beside it, unseen by their loader.
        let trajectories = object_items(array)
            .map_err(|e| DataError::invalid(path, format!("`{GNS_DATA}`: {e}")))?;
        for (i, t) in trajectories.iter().enumerate() {
            let label = format!("`{GNS_DATA}` item {i}");
            let inner =
                object_items(t).map_err(|e| DataError::invalid(path, format!("{label}: {e}")))?;
            items.push((label, inner));
        }
        if let Some(array) = member(STEP_CONTEXT) {
            let per = object_items(array)
                .map_err(|e| DataError::invalid(path, format!("`{STEP_CONTEXT}`: {e}")))?;
            if per.len() != items.len() {
                return Err(DataError::invalid(
                    path,
                    format!(
                        "`{STEP_CONTEXT}` holds {} arrays, `{GNS_DATA}` {} trajectories",
                        per.len(),
                        items.len()
                    ),
                ));
            }
            contexts = Some(per);
        }
    } else {
        for (name, array) in &members {
            let label = format!("`{name}`");
            let inner = object_items(array)
                .map_err(|e| DataError::invalid(path, format!("{label}: {e}")))?;
            items.push((label, inner));
        }
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, (label, items))| {
            let bad = |e: String| DataError::invalid(path, format!("{label}: {e}"));
            let t = geoelements_trajectory(items, dim).map_err(bad)?;
            let Some(context) = contexts.map(|c| &c[i]) else {
                return Ok(t);
            };
            let bad =
                |e: String| DataError::invalid(path, format!("`{STEP_CONTEXT}` item {i}: {e}"));
            let width = match context.shape[..] {
                [rows, width] if rows == t.n_frames => width,
                _ => {
                    return Err(bad(format!(
                        "has shape {:?}, expected [{}, C]",
                        context.shape, t.n_frames
                    )));
                }
            };
            t.with_step_context(width, context.to_f32().map_err(&bad)?)
                .map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// One trajectory from its items `(positions [T, N, D], particle_type [N] or scalar,
/// material_property [N] or scalar)`: a scalar holds for every particle, as geoelements'
/// loader broadcasts it with `np.full`.
fn geoelements_trajectory(items: &[NdArray], dim: usize) -> Result<Trajectory, String> {
    if !(2..=3).contains(&items.len()) {
        return Err(format!(
            "holds {} items, expected (positions, particle_type[, material_property])",
            items.len()
        ));
    }
    let (positions, types) = (&items[0], &items[1]);
    let [t, n, d] = positions.shape[..] else {
        return Err(format!(
            "positions have shape {:?}, expected [T, N, D]",
            positions.shape
        ));
    };
    if d != dim {
        return Err(format!(
            "positions have D = {d}, metadata.json says dim = {dim}"
        ));
    }
    let per_particle = |array: &NdArray, what: &str| -> Result<(), String> {
        if array.shape.is_empty() || array.shape == [n] {
            Ok(())
        } else {
            Err(format!(
                "{what} has shape {:?}, expected a scalar or [{n}] (positions have N = {n})",
                array.shape
            ))
        }
    };
    per_particle(types, "particle_type")?;
    let ids = types.to_i64()?;
    let ids = if ids.len() == 1 && types.shape.is_empty() {
        vec![ids[0]; n]
    } else {
        ids
    };
    let kind = kinds(&ids, TypeConvention::Deepmind)?;
    let trajectory = Trajectory::new(d, t, positions.to_f32()?, kind).map_err(|e| e.to_string())?;
    match items.get(2) {
        None => Ok(trajectory),
        Some(material) => {
            per_particle(material, "material_property")?;
            let values = match &material.data {
                ArrayData::Int(v) => v.iter().map(|&x| x as f32).collect(),
                _ => material
                    .to_f32()
                    .map_err(|e| format!("material_property: {e}"))?,
            };
            let values = if material.shape.is_empty() {
                vec![values[0]; n]
            } else {
                values
            };
            trajectory
                .with_material(1, values)
                .map_err(|e| e.to_string())
        }
    }
}

fn kinds(ids: &[i64], convention: TypeConvention) -> Result<Vec<ParticleKind>, String> {
    ids.iter()
        .map(|&id| ParticleKind::from_id(id, convention).map_err(|e| format!("particle_type: {e}")))
        .collect()
}

fn ids(
    t: &Trajectory,
    convention: TypeConvention,
    path: &Path,
    index: usize,
) -> Result<Vec<i64>, DataError> {
    t.kind
        .iter()
        .map(|k| {
            k.id(convention).ok_or_else(|| {
                DataError::invalid(
                    path,
                    format!(
                        "trajectory {index}: {k:?} particles have no id in the {} convention",
                        convention.name()
                    ),
                )
            })
        })
        .collect()
}

/// Builds our metadata from a foreign metadata.json and the data.
fn foreign_metadata(
    json: &Value,
    path: &Path,
    format: DatasetFormat,
    dim: usize,
    splits: &[Vec<Trajectory>; 3],
) -> Result<Metadata, DataError> {
    let per_axis = |key: &str| json_f64s(json, key, dim, path);
    let bounds = match json.get("bounds") {
        Some(Value::Array(rows)) if rows.len() == dim => rows
            .iter()
            .map(|r| match r.as_array().map(|p| p.as_slice()) {
                Some([lo, hi]) => match (lo.as_f64(), hi.as_f64()) {
                    (Some(lo), Some(hi)) => Ok([lo, hi]),
                    _ => Err(()),
                },
                _ => Err(()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|()| DataError::invalid(path, "`bounds` must be [[lo, hi]; dim] numbers"))?,
        Some(_) => {
            return Err(DataError::invalid(
                path,
                format!("`bounds` must be [[lo, hi]; dim] with dim = {dim}"),
            ));
        }
        None => return Err(missing(path, "bounds", format)),
    };
    let train = &splits[0];
    let first = train
        .first()
        .ok_or_else(|| DataError::invalid(path, "the training split is empty"))?;
    let frames_minus_one = |s: &[Trajectory]| s.first().map_or(0, |t| t.n_frames - 1);
    let (seq_train, seq_test) = match format {
        DatasetFormat::Lagrangebench => (
            json_usize(json, "sequence_length_train", path)?,
            json_usize(json, "sequence_length_test", path)?,
        ),
        _ => (
            json_usize(json, "sequence_length", path)?,
            frames_minus_one(&splits[2]).max(frames_minus_one(train)),
        ),
    };
    let dx = match json.get("dx").and_then(Value::as_f64) {
        Some(dx) => dx,
        None => median_spacing(first).ok_or_else(|| {
            DataError::invalid(
                path,
                "no `dx`, and the first frame has too few particles to estimate it",
            )
        })?,
    };
    let periodic = match json.get("periodic_boundary_conditions") {
        None => vec![false; dim],
        Some(v) => serde_json::from_value::<Vec<bool>>(v.clone())
            .ok()
            .filter(|p| p.len() == dim)
            .ok_or_else(|| {
                DataError::invalid(
                    path,
                    format!("`periodic_boundary_conditions` must be {dim} booleans"),
                )
            })?,
    };
    let count_max = splits
        .iter()
        .flatten()
        .map(|t| t.n_particles)
        .max()
        .unwrap_or(0);
    let num_particles_max = match json.get("num_particles_max").and_then(Value::as_u64) {
        Some(m) => m as usize,
        None => count_max,
    };
    Ok(Metadata {
        dim,
        bounds,
        dt: json_f64(json, "dt", path, format)?,
        default_connectivity_radius: json_f64(json, "default_connectivity_radius", path, format)?,
        periodic_boundary_conditions: periodic,
        num_particles_max,
        sequence_length_train: seq_train,
        sequence_length_test: seq_test,
        vel_mean: per_axis("vel_mean")?,
        vel_std: per_axis("vel_std")?,
        acc_mean: per_axis("acc_mean")?,
        acc_std: per_axis("acc_std")?,
        dx,
        particle_type_convention: format.convention().expect("foreign"),
        gravity: vec![0.0; dim],
        case: json
            .get("case")
            .and_then(Value::as_str)
            .map_or_else(|| format!("imported-{}", format.name()), |c| c.to_string()),
        solver: json
            .get("solver")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string(),
        tier: "imported".into(),
        seed: 0,
        num_trajectories: [splits[0].len(), splits[1].len(), splits[2].len()],
        features: features_of(splits),
    })
}

/// Median nearest-neighbour distance among (up to) the first 2000 particles of frame 0,
/// measured against all particles of that frame.
fn median_spacing(t: &Trajectory) -> Option<f64> {
    let frame = t.frame(0);
    let d = t.dim;
    let mut nearest: Vec<f64> = (0..t.n_particles.min(2000))
        .filter_map(|i| {
            (0..t.n_particles)
                .filter(|&j| j != i)
                .map(|j| {
                    (0..d)
                        .map(|a| f64::from(frame[i * d + a] - frame[j * d + a]).powi(2))
                        .sum::<f64>()
                })
                .filter(|&r2| r2 > 0.0)
                .min_by(f64::total_cmp)
                .map(f64::sqrt)
        })
        .collect();
    if nearest.is_empty() {
        return None;
    }
    nearest.sort_by(f64::total_cmp);
    Some(nearest[nearest.len() / 2])
}

fn read_json(path: &Path) -> Result<Value, DataError> {
    let text = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_slice(&text).map_err(|e| DataError::invalid(path, format!("not JSON: {e}")))
}

fn missing(path: &Path, key: &str, format: DatasetFormat) -> DataError {
    DataError::invalid(
        path,
        format!(
            "missing key `{key}` (required by the {} format)",
            format.name()
        ),
    )
}

fn json_usize(json: &Value, key: &str, path: &Path) -> Result<usize, DataError> {
    match json.get(key) {
        None => Err(DataError::invalid(path, format!("missing key `{key}`"))),
        Some(v) => v.as_u64().map(|v| v as usize).ok_or_else(|| {
            DataError::invalid(path, format!("`{key}` = {v} is not a non-negative integer"))
        }),
    }
}

fn json_f64(json: &Value, key: &str, path: &Path, format: DatasetFormat) -> Result<f64, DataError> {
    match json.get(key) {
        None => Err(missing(path, key, format)),
        Some(v) => v
            .as_f64()
            .ok_or_else(|| DataError::invalid(path, format!("`{key}` = {v} is not a number"))),
    }
}

fn json_f64s(json: &Value, key: &str, dim: usize, path: &Path) -> Result<Vec<f64>, DataError> {
    let values = json
        .get(key)
        .ok_or_else(|| DataError::invalid(path, format!("missing key `{key}`")))?;
    serde_json::from_value::<Vec<f64>>(values.clone())
        .ok()
        .filter(|v| v.len() == dim)
        .ok_or_else(|| DataError::invalid(path, format!("`{key}` must be {dim} numbers")))
}
