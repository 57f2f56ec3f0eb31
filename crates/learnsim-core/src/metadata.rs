//! Dataset metadata, in LagrangeBench's `metadata.json` vocabulary plus learnsim's own keys.

use crate::{CoreError, TypeConvention};
use serde::{Deserialize, Serialize};

/// Everything a learned simulator needs to know about a dataset besides its trajectories.
///
/// The first block of fields mirrors LagrangeBench's and DeepMind's `metadata.json` so their
/// tools read ours. `vel_*` and `acc_*` are statistics of per-frame differences (dt folded in,
/// as both do): `v_t = x_t − x_{t−1}`, `a_t = v_{t+1} − v_t`, over every non-kinematic particle
/// and frame of the training split, per axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Spatial dimension.
    pub dim: usize,
    /// `[[lo, hi]; dim]` bounds of the domain.
    pub bounds: Vec<[f64; 2]>,
    /// Time between stored frames.
    pub dt: f64,
    /// Radius of the graph a GNS builds.
    pub default_connectivity_radius: f64,
    /// Per-axis periodicity.
    pub periodic_boundary_conditions: Vec<bool>,
    /// Largest particle count of any trajectory (LagrangeBench pads to it).
    pub num_particles_max: usize,
    /// Frames per training trajectory minus one (DeepMind's `sequence_length`).
    pub sequence_length_train: usize,
    /// Frames per test trajectory minus one.
    pub sequence_length_test: usize,
    /// Mean of per-frame velocity, per axis.
    pub vel_mean: Vec<f64>,
    /// Standard deviation of per-frame velocity, per axis.
    pub vel_std: Vec<f64>,
    /// Mean of per-frame acceleration, per axis.
    pub acc_mean: Vec<f64>,
    /// Standard deviation of per-frame acceleration, per axis.
    pub acc_std: Vec<f64>,
    /// Mean initial particle spacing.
    pub dx: f64,
    /// Which id convention `particle_type` uses.
    pub particle_type_convention: TypeConvention,
    /// Gravity vector in world units per time², used by the ballistic baseline.
    pub gravity: Vec<f64>,
    /// Registered case that produced the data.
    pub case: String,
    /// Ground-truth solver, e.g. `mls-mpm` or `wcsph`.
    pub solver: String,
    /// `cpu` or `paper`.
    pub tier: String,
    /// Seed of the generation run.
    pub seed: u64,
    /// Number of trajectories in each split, `[train, valid, test]`.
    pub num_trajectories: [usize; 3],
    /// The initial scene when it is not the case's recipe, e.g. `column-collapse` (omitted
    /// from metadata.json for the recipe's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene: Option<String>,
    /// The optional features every trajectory carries (omitted from metadata.json when none).
    #[serde(default, skip_serializing_if = "ExtraFeatures::is_empty")]
    pub features: ExtraFeatures,
}

/// Widths of the optional features stored beside the positions, each a named dataset in every
/// trajectory group of the HDF5 files: `material_property` `[N]` or `[N, F]` (static, per
/// particle: geoelements' tan φ) and `step_context` `[T, C]` (per frame, global: DeepMind's).
/// 0 means the dataset has none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraFeatures {
    /// Width F of `material_property`.
    #[serde(default)]
    pub material_property: usize,
    /// Width C of `step_context`.
    #[serde(default)]
    pub step_context: usize,
    /// Mean of each `step_context` column over the training split's frames (DeepMind's
    /// `context_mean`); empty without a context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_mean: Vec<f64>,
    /// Its standard deviation (DeepMind's `context_std`), 1 where a column is constant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_std: Vec<f64>,
}

impl ExtraFeatures {
    /// Whether the dataset carries neither feature.
    pub fn is_empty(&self) -> bool {
        self.material_property == 0 && self.step_context == 0
    }
}

/// The largest `num_particles_max` a dataset may claim: 10⁸ particles, a hundred times the
/// largest particle dataset of the peers (LagrangeBench's 3D sets hold under 10⁴). Formats
/// that pad every frame to it would otherwise allocate whatever a metadata file says.
pub const NUM_PARTICLES_MAX_LIMIT: usize = 100_000_000;

impl Metadata {
    /// The bounds `[lo, hi]` of each walled axis, `None` for periodic axes.
    pub fn walls(&self) -> Vec<Option<[f64; 2]>> {
        self.bounds
            .iter()
            .zip(&self.periodic_boundary_conditions)
            .map(|(b, &periodic)| (!periodic).then_some(*b))
            .collect()
    }

    /// Gravity's velocity increment per stored frame, `g·dt²` per axis (per-frame units).
    pub fn gravity_per_frame(&self) -> Vec<f64> {
        let dt2 = self.dt * self.dt;
        self.gravity.iter().map(|g| g * dt2).collect()
    }

    /// Checks internal consistency (and `num_particles_max` ≤ [`NUM_PARTICLES_MAX_LIMIT`]): sizes agree with `dim`, numbers are finite and positive where
    /// they must be.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |what: String| Err(CoreError::Metadata(what));
        if !(1..=NUM_PARTICLES_MAX_LIMIT).contains(&self.num_particles_max) {
            return bad(format!(
                "num_particles_max is {}, expected 1 to {NUM_PARTICLES_MAX_LIMIT} (writers pad \
                 every frame to it)",
                self.num_particles_max
            ));
        }
        if !(1..=3).contains(&self.dim) {
            return bad(format!("dim is {}, expected 1, 2 or 3", self.dim));
        }
        let per_axis: [(&str, usize); 7] = [
            ("bounds", self.bounds.len()),
            (
                "periodic_boundary_conditions",
                self.periodic_boundary_conditions.len(),
            ),
            ("vel_mean", self.vel_mean.len()),
            ("vel_std", self.vel_std.len()),
            ("acc_mean", self.acc_mean.len()),
            ("acc_std", self.acc_std.len()),
            ("gravity", self.gravity.len()),
        ];
        for (name, len) in per_axis {
            if len != self.dim {
                return bad(format!(
                    "{name} has {len} entries, expected dim = {}",
                    self.dim
                ));
            }
        }
        for (axis, [lo, hi]) in self.bounds.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return bad(format!(
                    "bounds[{axis}] = [{lo}, {hi}] is not a finite interval"
                ));
            }
        }
        for (name, value) in [
            ("dt", self.dt),
            (
                "default_connectivity_radius",
                self.default_connectivity_radius,
            ),
            ("dx", self.dx),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return bad(format!("{name} = {value} must be finite and > 0"));
            }
        }
        for (name, values) in [("vel_std", &self.vel_std), ("acc_std", &self.acc_std)] {
            if values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return bad(format!("{name} = {values:?} must be finite and > 0"));
            }
        }
        for (name, values) in [
            ("vel_mean", &self.vel_mean),
            ("acc_mean", &self.acc_mean),
            ("gravity", &self.gravity),
        ] {
            if values.iter().any(|v| !v.is_finite()) {
                return bad(format!("{name} = {values:?} must be finite"));
            }
        }
        let f = &self.features;
        if f.context_mean.len() != f.step_context || f.context_std.len() != f.step_context {
            return bad(format!(
                "features: context_mean and context_std have {} and {} entries, expected \
                 step_context = {}",
                f.context_mean.len(),
                f.context_std.len(),
                f.step_context
            ));
        }
        if f.context_mean.iter().any(|v| !v.is_finite())
            || f.context_std.iter().any(|v| !(v.is_finite() && *v > 0.0))
        {
            return bad(format!(
                "features: context_mean {:?} must be finite and context_std {:?} finite and > 0",
                f.context_mean, f.context_std
            ));
        }
        Ok(())
    }
}
