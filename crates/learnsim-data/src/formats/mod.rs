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

use crate::npz::write_npz;
use crate::pickle::{ArrayValues, PyValue};
use crate::tfrecord::{DeepmindRecord, read_tfrecord, write_tfrecord};
use crate::{DataError, Dataset, SPLITS, read_split, write_bytes_atomically, write_split};
use learnsim_core::{
    ExtraFeatures, FeatureTable, Metadata, ParticleKind, Trajectory, TypeConvention,
};
use serde_json::{Map, Value, json};
use std::path::Path;

mod foreign_metadata;
mod geoelements;

use foreign_metadata::{foreign_metadata, json_usize, read_json};
pub use geoelements::GeoelementsLayout;
use geoelements::{GNS_DATA, STEP_CONTEXT, read_geoelements_split};

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
