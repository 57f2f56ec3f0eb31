//! Our metadata from a foreign metadata.json (LagrangeBench's, DeepMind's, geoelements') and the
//! data: the keys they lack filled in from the trajectories.

use super::{DatasetFormat, features_of};
use crate::DataError;
use learnsim_core::{Metadata, Trajectory};
use serde_json::Value;
use std::path::Path;

/// Builds our metadata from a foreign metadata.json and the data.
pub(super) fn foreign_metadata(
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
        scene: None,
        features: features_of(splits),
    })
}

/// Median nearest-neighbour distance among (up to) the first 2000 particles of frame 0,
/// measured against all particles of that frame.
pub(super) fn median_spacing(t: &Trajectory) -> Option<f64> {
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

pub(super) fn read_json(path: &Path) -> Result<Value, DataError> {
    let text = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_slice(&text).map_err(|e| DataError::invalid(path, format!("not JSON: {e}")))
}

pub(super) fn missing(path: &Path, key: &str, format: DatasetFormat) -> DataError {
    DataError::invalid(
        path,
        format!(
            "missing key `{key}` (required by the {} format)",
            format.name()
        ),
    )
}

pub(super) fn json_usize(json: &Value, key: &str, path: &Path) -> Result<usize, DataError> {
    match json.get(key) {
        None => Err(DataError::invalid(path, format!("missing key `{key}`"))),
        Some(v) => v.as_u64().map(|v| v as usize).ok_or_else(|| {
            DataError::invalid(path, format!("`{key}` = {v} is not a non-negative integer"))
        }),
    }
}

pub(super) fn json_f64(
    json: &Value,
    key: &str,
    path: &Path,
    format: DatasetFormat,
) -> Result<f64, DataError> {
    match json.get(key) {
        None => Err(missing(path, key, format)),
        Some(v) => v
            .as_f64()
            .ok_or_else(|| DataError::invalid(path, format!("`{key}` = {v} is not a number"))),
    }
}

pub(super) fn json_f64s(
    json: &Value,
    key: &str,
    dim: usize,
    path: &Path,
) -> Result<Vec<f64>, DataError> {
    let values = json
        .get(key)
        .ok_or_else(|| DataError::invalid(path, format!("missing key `{key}`")))?;
    serde_json::from_value::<Vec<f64>>(values.clone())
        .ok()
        .filter(|v| v.len() == dim)
        .ok_or_else(|| DataError::invalid(path, format!("`{key}` must be {dim} numbers")))
}
