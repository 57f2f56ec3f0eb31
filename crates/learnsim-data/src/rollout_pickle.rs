//! Rollouts in DeepMind's pickle layout, which their `render_rollout.py` and geoelements'
//! renderer read: a dict of numpy arrays `initial_positions [C, N, D]`,
//! `predicted_rollout [T, N, D]`, `ground_truth_rollout [T, N, D]`, `particle_types [N]` and a
//! `metadata` dict with DeepMind's keys.

use crate::pickle::{ArrayValues, PickleWriter, PyValue};
use crate::{DataError, write_bytes_atomically};
use learnsim_core::Metadata;
use std::path::Path;

/// One rollout to export.
#[derive(Debug, Clone)]
pub struct RolloutExport<'a> {
    /// Spatial dimension `D`.
    pub dim: usize,
    /// Particles `N`.
    pub n_particles: usize,
    /// The `C` input frames the rollout started from, `[C, N, D]`.
    pub initial_positions: &'a [f32],
    /// The model's frames `[T, N, D]`.
    pub predicted: &'a [f32],
    /// Ground truth for the same frames `[T, N, D]`.
    pub ground_truth: &'a [f32],
    /// Type ids `[N]` in the DeepMind convention.
    pub particle_types: &'a [i64],
    /// The dataset's metadata.
    pub metadata: &'a Metadata,
}

/// Writes `rollout` to `path` as a pickle, atomically.
pub fn write_rollout_pickle(path: &Path, rollout: &RolloutExport) -> Result<(), DataError> {
    let per_frame = rollout.n_particles * rollout.dim;
    let frames = |values: &[f32], what: &str| {
        if per_frame == 0 || !values.len().is_multiple_of(per_frame) {
            return Err(DataError::invalid(
                path,
                format!(
                    "{what} has {} values, not a whole number of frames of N·D = {per_frame}",
                    values.len()
                ),
            ));
        }
        Ok(PyValue::Array(
            vec![values.len() / per_frame, rollout.n_particles, rollout.dim],
            ArrayValues::F32(values.to_vec()),
        ))
    };
    if rollout.predicted.len() != rollout.ground_truth.len() {
        return Err(DataError::invalid(
            path,
            "predicted and ground-truth rollouts differ in length",
        ));
    }
    if rollout.particle_types.len() != rollout.n_particles {
        return Err(DataError::invalid(
            path,
            "particle_types must have N entries",
        ));
    }
    let m = rollout.metadata;
    let floats = |v: &[f64]| PyValue::List(v.iter().map(|&x| PyValue::Float(x)).collect());
    let metadata = PyValue::Dict(vec![
        (
            "bounds".into(),
            PyValue::List(m.bounds.iter().map(|b| floats(b)).collect()),
        ),
        (
            "sequence_length".into(),
            PyValue::Int(m.sequence_length_train as i64),
        ),
        (
            "default_connectivity_radius".into(),
            PyValue::Float(m.default_connectivity_radius),
        ),
        ("dim".into(), PyValue::Int(m.dim as i64)),
        ("dt".into(), PyValue::Float(m.dt)),
        ("vel_mean".into(), floats(&m.vel_mean)),
        ("vel_std".into(), floats(&m.vel_std)),
        ("acc_mean".into(), floats(&m.acc_mean)),
        ("acc_std".into(), floats(&m.acc_std)),
    ]);
    let value = PyValue::Dict(vec![
        (
            "initial_positions".into(),
            frames(rollout.initial_positions, "initial_positions")?,
        ),
        (
            "predicted_rollout".into(),
            frames(rollout.predicted, "predicted_rollout")?,
        ),
        (
            "ground_truth_rollout".into(),
            frames(rollout.ground_truth, "ground_truth_rollout")?,
        ),
        (
            "particle_types".into(),
            PyValue::Array(
                vec![rollout.n_particles],
                ArrayValues::I64(rollout.particle_types.to_vec()),
            ),
        ),
        ("metadata".into(), metadata),
    ]);
    write_bytes_atomically(path, &PickleWriter::to_bytes(&value))
}
