//! Rollouts written by other codes, read for `learnsim score`:
//!
//! - **DeepMind's pickles** (`learning_to_simulate/train.py`'s eval mode, and geoelements/gns):
//!   one `rollout_*.pkl` per trajectory, a dict with `initial_positions [C, N, D]`,
//!   `predicted_rollout [T−C, N, D]`, `ground_truth_rollout [T−C, N, D]`, `particle_types [N]`
//!   (DeepMind's type ids) and `metadata`. C is known from the file.
//! - **LagrangeBench's pickles** (`lagrangebench/evaluate/rollout.py`, `infer` with
//!   `out_type = "pkl"`): one `rollout_{i}.pkl` per trajectory, a dict with
//!   `predicted_rollout [F, N, D]` (the `t_window` input frames followed by the predictions),
//!   `ground_truth_rollout [T, N, D]` and `particle_type [N]` (LagrangeBench's type ids). When
//!   JAX pickles its arrays they arrive as `jax._src.array._reconstruct_array` records, which
//!   are read as the numpy arrays inside them. C is not in the file.
//! - **Plain arrays** of float32 or float64 in an `.npz` or an `.h5`/`.hdf5` file: one array
//!   `[traj, F, N, D]` (the only member or root dataset, or the one named `predicted_rollout`),
//!   or one `[F, N, D]` array per trajectory (every member or root dataset, in the order of
//!   the last number in their names: `rollout_0`, `rollout_1`, …; for trajectories of
//!   different particle counts). F = T frames from frame 0 (the input frames included) or
//!   F = T − C predicted frames only.
//!
//! A folder is read as its `*.pkl` files in the order of the last number in their names
//! (`rollout_2.pkl` before `rollout_10.pkl`).

use crate::DataError;
use crate::npz::read_npz;
use crate::pickle::{NdArray, Pickle};
use learnsim_core::TypeConvention;
use rust_hdf5::{DatatypeMessage, H5File};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Which code's file a rollout came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutFormat {
    /// DeepMind's `rollout_*.pkl`.
    DeepmindPickle,
    /// LagrangeBench's `rollout_{i}.pkl`.
    LagrangebenchPickle,
    /// `[traj, F, N, D]` in an `.npz`.
    NumpyArray,
    /// `[traj, F, N, D]` in an HDF5 file.
    Hdf5Array,
}

impl RolloutFormat {
    /// Name written in metrics.json.
    pub fn name(self) -> &'static str {
        match self {
            Self::DeepmindPickle => "deepmind-pickle",
            Self::LagrangebenchPickle => "lagrangebench-pickle",
            Self::NumpyArray => "npz-array",
            Self::Hdf5Array => "hdf5-array",
        }
    }
}

/// One trajectory's rollout as another code wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignRollout {
    /// The file (and index) it came from, for messages.
    pub source: String,
    /// The file's layout.
    pub format: RolloutFormat,
    /// Frames held.
    pub n_frames: usize,
    /// Particles per frame.
    pub n_particles: usize,
    /// Spatial dimension.
    pub dim: usize,
    /// Positions `[n_frames, n_particles, dim]` from frame 0 (the model's input frames
    /// first), except that a plain array may hold the predicted frames only (F = T − C).
    pub position: Vec<f32>,
    /// Input frames, where the file says (DeepMind's `initial_positions`).
    pub context: Option<usize>,
    /// The file's own ground truth `[frames, N, D]` and the trajectory frame it starts at
    /// (DeepMind's starts after the context, LagrangeBench's at 0).
    pub ground_truth: Option<(usize, Vec<f32>)>,
    /// Type ids and the convention they are in.
    pub particle_types: Option<(Vec<i64>, TypeConvention)>,
}

/// Reads the rollouts at `path`: a `.pkl` file, a folder of them, an `.npz` or an HDF5 file.
pub fn read_foreign_rollouts(path: &Path) -> Result<Vec<ForeignRollout>, DataError> {
    if path.is_dir() {
        let mut files: Vec<(Option<u64>, PathBuf)> = std::fs::read_dir(path)
            .map_err(|e| DataError::io(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "pkl"))
            .map(|p| (last_number(&p), p))
            .collect();
        if files.is_empty() {
            return Err(DataError::invalid(
                path,
                "holds no .pkl rollouts (DeepMind's rollout_*.pkl or LagrangeBench's rollout_{i}.pkl)",
            ));
        }
        files.sort();
        return files.iter().map(|(_, p)| read_pickle(p)).collect();
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "pkl" | "pickle" => Ok(vec![read_pickle(path)?]),
        "npz" => {
            let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
            let members = read_npz(&bytes).map_err(|e| DataError::invalid(path, e))?;
            arrays(path, RolloutFormat::NumpyArray, members)
        }
        "h5" | "hdf5" => read_hdf5(path),
        _ => Err(DataError::invalid(
            path,
            "is not a rollout file: expected .pkl (DeepMind or LagrangeBench), .npz or .h5/.hdf5, or a folder of .pkl files",
        )),
    }
}

/// The last run of digits in a file name (`rollout_test_12.pkl` → 12).
fn last_number(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    let digits: String = stem
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

/// Named arrays as rollouts: one `[traj, F, N, D]` array (the only one, or
/// `predicted_rollout`), or one `[F, N, D]` array per trajectory in name order.
fn arrays(
    path: &Path,
    format: RolloutFormat,
    mut members: Vec<(String, NdArray)>,
) -> Result<Vec<ForeignRollout>, DataError> {
    if members.len() == 1 && members[0].1.shape.len() == 4 {
        return split_batch(path, format, &members[0].1);
    }
    if let Some(k) = members
        .iter()
        .position(|(name, a)| name == "predicted_rollout" && a.shape.len() == 4)
    {
        return split_batch(path, format, &members[k].1);
    }
    if members.is_empty() || members.iter().any(|(_, a)| a.shape.len() != 3) {
        let listed: Vec<String> = members
            .iter()
            .map(|(name, a)| format!("{name} {:?}", a.shape))
            .collect();
        return Err(DataError::invalid(
            path,
            format!(
                "holds {}: expected one [trajectories, frames, particles, dim] array (alone or named `predicted_rollout`) or one [frames, particles, dim] array per trajectory",
                if listed.is_empty() {
                    "no arrays".into()
                } else {
                    listed.join(", ")
                }
            ),
        ));
    }
    members.sort_by_key(|(name, _)| (last_number(Path::new(name)), name.clone()));
    members
        .iter()
        .map(|(name, a)| {
            let [frames, particles, dim] = a.shape[..] else {
                return Err(DataError::invalid(
                    path,
                    format!("`{name}` is not [frames, particles, dim]"),
                ));
            };
            Ok(ForeignRollout {
                source: format!("{}:{name}", path.display()),
                format,
                n_frames: frames,
                n_particles: particles,
                dim,
                position: a
                    .to_f32()
                    .map_err(|e| DataError::invalid(path, format!("`{name}`: {e}")))?,
                context: None,
                ground_truth: None,
                particle_types: None,
            })
        })
        .collect()
}

/// A `[traj, F, N, D]` array as one rollout per trajectory.
fn split_batch(
    path: &Path,
    format: RolloutFormat,
    array: &NdArray,
) -> Result<Vec<ForeignRollout>, DataError> {
    let [trajectories, frames, particles, dim] = array.shape[..] else {
        return Err(DataError::invalid(
            path,
            format!(
                "the rollouts have shape {:?}; expected [trajectories, frames, particles, dim]",
                array.shape
            ),
        ));
    };
    let values = array.to_f32().map_err(|e| DataError::invalid(path, e))?;
    let per = frames * particles * dim;
    Ok((0..trajectories)
        .map(|i| ForeignRollout {
            source: format!("{}[{i}]", path.display()),
            format,
            n_frames: frames,
            n_particles: particles,
            dim,
            position: values[i * per..(i + 1) * per].to_vec(),
            context: None,
            ground_truth: None,
            particle_types: None,
        })
        .collect())
}

fn read_hdf5(path: &Path) -> Result<Vec<ForeignRollout>, DataError> {
    // A panic of the third-party decoder on a corrupt file becomes an error naming the file.
    catch_unwind(AssertUnwindSafe(|| {
        let bad = |e: String| DataError::invalid(path, e);
        let file = H5File::open(path).map_err(|e| bad(format!("not a readable HDF5 file: {e}")))?;
        let names = file
            .root_group()
            .dataset_names()
            .map_err(|e| bad(format!("cannot list datasets: {e}")))?;
        let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
        let mut members = Vec::with_capacity(names.len());
        for name in names {
            let dataset = file
                .dataset(&name)
                .map_err(|e| bad(format!("cannot open `{name}`: {e}")))?;
            crate::h5_split::check_claimed_size(&dataset, file_len)
                .map_err(|e| bad(format!("`{name}`: {e}")))?;
            let values: Vec<f64> = match dataset.datatype().map_err(|e| bad(e.to_string()))? {
                DatatypeMessage::FloatingPoint { size: 4, .. } => dataset
                    .read_raw::<f32>()
                    .map(|v| v.into_iter().map(f64::from).collect()),
                DatatypeMessage::FloatingPoint { size: 8, .. } => dataset.read_raw::<f64>(),
                other => {
                    return Err(bad(format!(
                        "`{name}` has dtype {other:?}, expected floats"
                    )));
                }
            }
            .map_err(|e| bad(format!("cannot read `{name}`: {e}")))?;
            let array = NdArray::new(
                dataset.shape().to_vec(),
                crate::pickle::ArrayData::Float(values),
            );
            members.push((name, array));
        }
        arrays(path, RolloutFormat::Hdf5Array, members)
    }))
    .unwrap_or_else(|_| {
        Err(DataError::invalid(
            path,
            "corrupt HDF5 file (the decoder failed)",
        ))
    })
}

/// One DeepMind or LagrangeBench rollout pickle.
fn read_pickle(path: &Path) -> Result<ForeignRollout, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bad = |e: String| DataError::invalid(path, e);
    let pickle = Pickle::parse(&bytes).map_err(bad)?;
    let items = pickle
        .dict_items(pickle.root())
        .map_err(|e| bad(format!("not a rollout dict: {e}")))?;
    let get = |key: &str| -> Result<Option<NdArray>, DataError> {
        items
            .iter()
            .find(|(k, _)| k == key)
            .map(|&(_, id)| pickle.array(id).map_err(|e| bad(format!("`{key}`: {e}"))))
            .transpose()
    };
    let frames_of =
        |key: &str, a: &NdArray| -> Result<(usize, usize, usize, Vec<f32>), DataError> {
            let [t, n, d] = a.shape[..] else {
                return Err(bad(format!(
                    "`{key}` has shape {:?}, expected [frames, particles, dim]",
                    a.shape
                )));
            };
            Ok((
                t,
                n,
                d,
                a.to_f32().map_err(|e| bad(format!("`{key}`: {e}")))?,
            ))
        };
    let predicted = get("predicted_rollout")?.ok_or_else(|| {
        bad("has no `predicted_rollout`: not a DeepMind or LagrangeBench rollout".into())
    })?;
    let (n_frames, n_particles, dim, mut position) = frames_of("predicted_rollout", &predicted)?;
    let truth = match get("ground_truth_rollout")? {
        Some(a) => Some(frames_of("ground_truth_rollout", &a)?.3),
        None => None,
    };
    let source = path.display().to_string();
    let types = |key: &str, convention| -> Result<Option<(Vec<i64>, TypeConvention)>, DataError> {
        Ok(match get(key)? {
            Some(a) => Some((
                a.to_i64().map_err(|e| bad(format!("`{key}`: {e}")))?,
                convention,
            )),
            None => None,
        })
    };
    match get("initial_positions")? {
        // DeepMind: the input frames apart, the predictions after them.
        Some(initial) => {
            let (c, n, d, mut frames) = frames_of("initial_positions", &initial)?;
            if (n, d) != (n_particles, dim) {
                return Err(bad(format!(
                    "`initial_positions` has {n} particles of dim {d}, `predicted_rollout` {n_particles} of dim {dim}"
                )));
            }
            frames.append(&mut position);
            Ok(ForeignRollout {
                source,
                format: RolloutFormat::DeepmindPickle,
                n_frames: c + n_frames,
                n_particles,
                dim,
                position: frames,
                context: Some(c),
                ground_truth: truth.map(|t| (c, t)),
                particle_types: types("particle_types", TypeConvention::Deepmind)?,
            })
        }
        // LagrangeBench: the input frames lead `predicted_rollout`.
        None => Ok(ForeignRollout {
            source,
            format: RolloutFormat::LagrangebenchPickle,
            n_frames,
            n_particles,
            dim,
            position,
            context: None,
            ground_truth: truth.map(|t| (0, t)),
            particle_types: types("particle_type", TypeConvention::Lagrangebench)?,
        }),
    }
}
