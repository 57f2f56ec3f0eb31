//! One split of a dataset as an HDF5 file in LagrangeBench's layout, plus the optional
//! `material_property` (`[N]` or `[N, F]`) and `step_context` (`[T, C]`) datasets per group.

use crate::{DataError, write_atomically};
use learnsim_core::{FeatureTable, ParticleKind, Trajectory, TypeConvention};
use rust_hdf5::{ByteOrder, DatatypeMessage, H5File};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Frames per HDF5 chunk of `position`: whole frames, a few at a time, so a training window of
/// six frames touches one or two chunks.
const FRAMES_PER_CHUNK: usize = 16;

/// gzip level: 4 is within a few percent of 9's size on float positions at a fraction of the
/// time.
const GZIP_LEVEL: u32 = 4;

/// Writes `trajectories` to `path` (groups `00000`, `00001`, …), atomically.
pub fn write_split(
    path: &Path,
    trajectories: &[Trajectory],
    convention: TypeConvention,
) -> Result<(), DataError> {
    let indices: Vec<usize> = (0..trajectories.len()).collect();
    write_split_groups(path, &indices, trajectories, convention)
}

/// Writes `trajectories[k]` to group `indices[k]` of `path` (five digits), atomically: the
/// trajectories of one shard of a split keep their numbers in the whole split.
pub fn write_split_groups(
    path: &Path,
    indices: &[usize],
    trajectories: &[Trajectory],
    convention: TypeConvention,
) -> Result<(), DataError> {
    if indices.len() != trajectories.len() {
        return Err(DataError::invalid(
            path,
            format!(
                "{} group numbers for {} trajectories",
                indices.len(),
                trajectories.len()
            ),
        ));
    }
    let mut ids = Vec::with_capacity(trajectories.len());
    for (index, t) in trajectories.iter().enumerate() {
        let row: Result<Vec<i64>, DataError> = t
            .kind
            .iter()
            .map(|kind| {
                kind.id(convention).ok_or_else(|| {
                    DataError::invalid(
                        path,
                        format!(
                            "trajectory {index:05}: kind {kind:?} has no id in the {} convention",
                            convention.name()
                        ),
                    )
                })
            })
            .collect();
        ids.push(row?);
    }
    let h5 = |e: rust_hdf5::Hdf5Error| DataError::invalid(path, format!("HDF5 write failed: {e}"));
    write_atomically(path, |tmp| {
        let file = H5File::create(tmp).map_err(h5)?;
        for ((t, ids), index) in trajectories.iter().zip(&ids).zip(indices) {
            let group = file.create_group(&format!("{index:05}")).map_err(h5)?;
            group
                .new_dataset::<f32>()
                .shape([t.n_frames, t.n_particles, t.dim])
                .chunk(&[
                    t.n_frames.clamp(1, FRAMES_PER_CHUNK),
                    t.n_particles.max(1),
                    t.dim,
                ])
                .deflate(GZIP_LEVEL)
                .create("position")
                .map_err(h5)?
                .write_raw(&t.position)
                .map_err(h5)?;
            group
                .new_dataset::<i64>()
                .shape([t.n_particles])
                .create("particle_type")
                .map_err(h5)?
                .write_raw(ids)
                .map_err(h5)?;
            for (name, rows, table) in [
                (MATERIAL, t.n_particles, &t.material),
                (STEP_CONTEXT, t.n_frames, &t.step_context),
            ] {
                if table.is_empty() {
                    continue;
                }
                let builder = group.new_dataset::<f32>();
                let builder = if table.width == 1 {
                    builder.shape([rows])
                } else {
                    builder.shape([rows, table.width])
                };
                builder
                    .create(name)
                    .map_err(h5)?
                    .write_raw(&table.values)
                    .map_err(h5)?;
            }
        }
        file.close().map_err(h5)
    })
}

/// Name of the static per-particle feature dataset (geoelements' key).
const MATERIAL: &str = "material_property";
/// Name of the per-frame global context dataset (DeepMind's key).
const STEP_CONTEXT: &str = "step_context";

/// Reads every trajectory group of `path`, in name order, mapping type ids with `convention`.
pub fn read_split(path: &Path, convention: TypeConvention) -> Result<Vec<Trajectory>, DataError> {
    Ok(read_split_groups(path, convention)?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

/// [`read_split`] with each trajectory's group number (`00007` → 7).
pub fn read_split_groups(
    path: &Path,
    convention: TypeConvention,
) -> Result<Vec<(usize, Trajectory)>, DataError> {
    if !path.exists() {
        return Err(DataError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    // The HDF5 decoder is third-party code fed with arbitrary bytes; a panic inside it on a
    // corrupt file becomes an error that names the file, never a crash of the caller.
    match catch_unwind(AssertUnwindSafe(|| read_split_unguarded(path, convention))) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(DataError::invalid(
                path,
                format!("corrupt HDF5 file (decoder failed: {what})"),
            ))
        }
    }
}

fn read_split_unguarded(
    path: &Path,
    convention: TypeConvention,
) -> Result<Vec<(usize, Trajectory)>, DataError> {
    let file = H5File::open(path)
        .map_err(|e| DataError::invalid(path, format!("not a readable HDF5 file: {e}")))?;
    let mut groups = file
        .root_group()
        .group_names()
        .map_err(|e| DataError::invalid(path, format!("cannot list trajectory groups: {e}")))?;
    groups.sort();
    if let Some(other) = groups
        .iter()
        .find(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(DataError::invalid(
            path,
            format!(
                "group `{other}` is not a trajectory group: learnsim files name them 00000, 00001, ..."
            ),
        ));
    }
    if groups.is_empty() {
        return Err(DataError::invalid(
            path,
            "holds no trajectory groups (00000, 00001, ...)",
        ));
    }
    groups
        .iter()
        .map(|group| {
            let index = group.parse::<usize>().map_err(|e| {
                DataError::invalid(path, format!("group `{group}` is not a number: {e}"))
            })?;
            Ok((index, read_trajectory(&file, path, group, convention)?))
        })
        .collect()
}

fn read_trajectory(
    file: &H5File,
    path: &Path,
    group: &str,
    convention: TypeConvention,
) -> Result<Trajectory, DataError> {
    let bad = |problem: String| DataError::invalid(path, format!("group {group}: {problem}"));
    let position = file
        .dataset(&format!("{group}/position"))
        .map_err(|e| bad(format!("missing dataset `position` ({e})")))?;
    let shape = position.shape();
    let [n_frames, n_particles, dim] = shape[..] else {
        return Err(bad(format!(
            "`position` has shape {shape:?}, expected [T, N, D]"
        )));
    };
    if !(1..=3).contains(&dim) || n_frames == 0 || n_particles == 0 {
        return Err(bad(format!(
            "`position` has shape {shape:?}: need T, N ≥ 1 and D in 1..=3"
        )));
    }
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    check_claimed_size(&position, file_len).map_err(|e| bad(format!("`position`: {e}")))?;
    let datatype = position
        .datatype()
        .map_err(|e| bad(format!("`position`: {e}")))?;
    let values: Vec<f32> = match datatype {
        DatatypeMessage::FloatingPoint { size: 4, .. } => position.read_raw::<f32>(),
        DatatypeMessage::FloatingPoint { size: 8, .. } => position
            .read_raw::<f64>()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        other => {
            return Err(bad(format!(
                "`position` has dtype {other:?}, expected float32"
            )));
        }
    }
    .map_err(|e| bad(format!("cannot read `position`: {e}")))?;

    let types = file
        .dataset(&format!("{group}/particle_type"))
        .map_err(|e| bad(format!("missing dataset `particle_type` ({e})")))?;
    if types.shape() != [n_particles] {
        return Err(bad(format!(
            "`particle_type` has shape {:?}, expected [{n_particles}] to match `position`",
            types.shape()
        )));
    }
    check_claimed_size(&types, file_len).map_err(|e| bad(format!("`particle_type`: {e}")))?;
    let ids = read_integers(&types).map_err(bad)?;
    // LagrangeBench pads particle arrays with type 9 (`matscipy_pad`); padding is not a particle.
    let padding = |id: i64| {
        convention == TypeConvention::Lagrangebench && id == crate::LAGRANGEBENCH_PADDING_TYPE
    };
    let kind: Vec<ParticleKind> = ids
        .iter()
        .filter(|&&id| !padding(id))
        .map(|&id| ParticleKind::from_id(id, convention))
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("`particle_type`: {e}")))?;
    if kind.is_empty() {
        return Err(bad("every particle is padding (type 9)".into()));
    }
    let values = if kind.len() == n_particles {
        values
    } else {
        values
            .chunks_exact(dim)
            .enumerate()
            .filter(|(flat, _)| !padding(ids[flat % n_particles]))
            .flat_map(|(_, p)| p.iter().copied())
            .collect()
    };
    let mut trajectory =
        Trajectory::new(dim, n_frames, values, kind).map_err(|e| bad(e.to_string()))?;
    let names = file
        .root_group()
        .group(group)
        .and_then(|g| g.dataset_names())
        .map_err(|e| bad(format!("cannot list datasets: {e}")))?;
    let has = |name: &str| names.iter().any(|n| n == name);
    if has(MATERIAL) {
        // Rows of the file's particles; padded ones are dropped like their positions.
        let table = read_table(file, group, MATERIAL, n_particles, file_len).map_err(&bad)?;
        let values: Vec<f32> = (0..n_particles)
            .filter(|&p| !padding(ids[p]))
            .flat_map(|p| table.row(p).iter().copied())
            .collect();
        trajectory = trajectory
            .with_material(table.width, values)
            .map_err(|e| bad(e.to_string()))?;
    }
    if has(STEP_CONTEXT) {
        let table = read_table(file, group, STEP_CONTEXT, n_frames, file_len).map_err(&bad)?;
        trajectory = trajectory
            .with_step_context(table.width, table.values)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(trajectory)
}

/// A float dataset `[rows]` or `[rows, width]` as a feature table.
fn read_table(
    file: &H5File,
    group: &str,
    name: &str,
    rows: usize,
    file_len: u64,
) -> Result<FeatureTable, String> {
    let dataset = file
        .dataset(&format!("{group}/{name}"))
        .map_err(|e| format!("cannot open `{name}`: {e}"))?;
    check_claimed_size(&dataset, file_len).map_err(|e| format!("`{name}`: {e}"))?;
    let shape = dataset.shape();
    let width = match shape[..] {
        [r] if r == rows => 1,
        [r, w] if r == rows && w > 0 => w,
        _ => {
            return Err(format!(
                "`{name}` has shape {shape:?}, expected [{rows}] or [{rows}, F]"
            ));
        }
    };
    let values: Vec<f32> = match dataset.datatype().map_err(|e| format!("`{name}`: {e}"))? {
        DatatypeMessage::FloatingPoint { size: 4, .. } => dataset.read_raw::<f32>(),
        DatatypeMessage::FloatingPoint { size: 8, .. } => dataset
            .read_raw::<f64>()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        other => return Err(format!("`{name}` has dtype {other:?}, expected floats")),
    }
    .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    FeatureTable::new(rows, width, values).map_err(|e| format!("`{name}`: {e}"))
}

/// DEFLATE cannot compress better than 1032:1, so a dataset (or one chunk of it) whose decoded
/// size exceeds that multiple of the whole file cannot be stored in it: refuse it before the
/// decoder allocates the claimed size. (Found by the `hdf5` fuzz target: a 12 KB file whose
/// chunk dims claimed 3 GB.)
pub(crate) fn check_claimed_size(
    dataset: &rust_hdf5::H5Dataset,
    file_len: u64,
) -> Result<(), String> {
    const MAX_DEFLATE_RATIO: u64 = 1032;
    let limit = file_len
        .saturating_mul(MAX_DEFLATE_RATIO)
        .saturating_add(1 << 20);
    let bytes = |dims: &[usize]| {
        dims.iter()
            .try_fold(dataset.element_size() as u64, |a, &d| {
                a.checked_mul(d as u64)
            })
    };
    let shape = dataset.shape();
    if bytes(&shape).is_none_or(|b| b > limit) {
        return Err(format!(
            "shape {shape:?} claims more data than a {file_len}-byte file can hold"
        ));
    }
    if let Some(chunk) = dataset.chunk_dims()
        && bytes(&chunk).is_none_or(|b| b > limit)
    {
        return Err(format!(
            "chunk shape {chunk:?} claims more data than a {file_len}-byte file can hold"
        ));
    }
    Ok(())
}

/// Reads an integer dataset of any width and signedness as i64.
fn read_integers(dataset: &rust_hdf5::H5Dataset) -> Result<Vec<i64>, String> {
    let datatype = dataset
        .datatype()
        .map_err(|e| format!("`particle_type`: {e}"))?;
    let DatatypeMessage::FixedPoint {
        size,
        byte_order,
        signed,
        ..
    } = datatype
    else {
        return Err(format!(
            "`particle_type` has dtype {datatype:?}, expected an integer"
        ));
    };
    let bytes = dataset
        .read_raw_bytes()
        .map_err(|e| format!("cannot read `particle_type`: {e}"))?;
    let size = size as usize;
    if !matches!(size, 1 | 2 | 4 | 8) || bytes.len() % size != 0 {
        return Err(format!(
            "`particle_type` has an unsupported integer width of {size} bytes"
        ));
    }
    Ok(bytes
        .chunks(size)
        .map(|chunk| {
            let mut raw = [0u8; 8];
            match byte_order {
                ByteOrder::LittleEndian => raw[..size].copy_from_slice(chunk),
                _ => raw[..size]
                    .iter_mut()
                    .zip(chunk.iter().rev())
                    .for_each(|(d, s)| *d = *s),
            }
            let unsigned = u64::from_le_bytes(raw);
            if signed && size < 8 && (unsigned >> (8 * size - 1)) & 1 == 1 {
                (unsigned | (!0u64 << (8 * size))) as i64
            } else {
                unsigned as i64
            }
        })
        .collect())
}
