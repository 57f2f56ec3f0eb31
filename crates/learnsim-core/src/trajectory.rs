//! A stored trajectory: positions per frame and one kind per particle, with the optional
//! per-particle static features and per-frame global context the peers' formats carry.

use crate::{CoreError, ParticleKind};

/// A row-major table of `f32` features, `width` per row; `width = 0` means "none".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureTable {
    /// Values per row.
    pub width: usize,
    /// `[rows, width]`, row-major.
    pub values: Vec<f32>,
}

impl FeatureTable {
    /// No features.
    pub const NONE: FeatureTable = FeatureTable {
        width: 0,
        values: Vec::new(),
    };

    /// A table of `rows` rows from its values, checking the size and that every value is finite.
    pub fn new(rows: usize, width: usize, values: Vec<f32>) -> Result<Self, CoreError> {
        if rows.checked_mul(width) != Some(values.len()) {
            return Err(CoreError::Shape(format!(
                "feature table has {} values, expected rows·width = {rows}·{width}",
                values.len()
            )));
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::Shape(format!(
                "feature value {} of row {} is not finite",
                k % width.max(1),
                k / width.max(1)
            )));
        }
        Ok(Self { width, values })
    }

    /// Whether the table holds no features.
    pub fn is_empty(&self) -> bool {
        self.width == 0
    }

    /// Row `i` (empty when there are no features).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.width..(i + 1) * self.width]
    }
}

/// Positions `[T, N, D]` (row-major, `f32`, as the field's formats store them) and kinds `[N]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Spatial dimension `D`.
    pub dim: usize,
    /// Number of frames `T`.
    pub n_frames: usize,
    /// Number of particles `N`.
    pub n_particles: usize,
    /// Flattened positions `[T, N, D]`.
    pub position: Vec<f32>,
    /// One kind per particle.
    pub kind: Vec<ParticleKind>,
    /// Static per-particle features `[N, F]`: geoelements' `material_property` (tan φ of a
    /// sand's friction angle). Empty when the data have none.
    pub material: FeatureTable,
    /// Per-frame global context `[T, C]`: DeepMind's `step_context`. Empty when none.
    pub step_context: FeatureTable,
}

impl Trajectory {
    /// A trajectory from its parts, checking that the sizes agree and every value is finite.
    pub fn new(
        dim: usize,
        n_frames: usize,
        position: Vec<f32>,
        kind: Vec<ParticleKind>,
    ) -> Result<Self, CoreError> {
        let n_particles = kind.len();
        let expected = n_frames
            .checked_mul(n_particles)
            .and_then(|v| v.checked_mul(dim))
            .ok_or_else(|| CoreError::Shape("size overflows usize".into()))?;
        if dim == 0 || position.len() != expected {
            return Err(CoreError::Shape(format!(
                "position has {} values, expected T·N·D = {n_frames}·{n_particles}·{dim} = {expected}",
                position.len()
            )));
        }
        if let Some(flat) = position.iter().position(|v| !v.is_finite()) {
            let per_frame = n_particles * dim;
            return Err(CoreError::NonFinite {
                frame: flat / per_frame,
                particle: (flat % per_frame) / dim,
            });
        }
        Ok(Self {
            dim,
            n_frames,
            n_particles,
            position,
            kind,
            material: FeatureTable::NONE,
            step_context: FeatureTable::NONE,
        })
    }

    /// The same trajectory with static per-particle features `[N, width]`.
    pub fn with_material(self, width: usize, values: Vec<f32>) -> Result<Self, CoreError> {
        let material = FeatureTable::new(self.n_particles, width, values)
            .map_err(|e| CoreError::Shape(format!("material: {e}")))?;
        Ok(Self { material, ..self })
    }

    /// The same trajectory with a per-frame global context `[T, width]`.
    pub fn with_step_context(self, width: usize, values: Vec<f32>) -> Result<Self, CoreError> {
        let step_context = FeatureTable::new(self.n_frames, width, values)
            .map_err(|e| CoreError::Shape(format!("step_context: {e}")))?;
        Ok(Self {
            step_context,
            ..self
        })
    }

    /// Positions of one frame, `[N·D]`.
    pub fn frame(&self, t: usize) -> &[f32] {
        let per_frame = self.n_particles * self.dim;
        &self.position[t * per_frame..(t + 1) * per_frame]
    }

    /// Frames `start..end` as a trajectory of their own (for rollouts from later start times).
    ///
    /// # Panics
    /// If `start >= end` or `end > n_frames`.
    pub fn window(&self, start: usize, end: usize) -> Trajectory {
        assert!(
            start < end && end <= self.n_frames,
            "window {start}..{end} of {} frames",
            self.n_frames
        );
        let per_frame = self.n_particles * self.dim;
        Trajectory {
            dim: self.dim,
            n_frames: end - start,
            n_particles: self.n_particles,
            position: self.position[start * per_frame..end * per_frame].to_vec(),
            kind: self.kind.clone(),
            material: self.material.clone(),
            step_context: FeatureTable {
                width: self.step_context.width,
                values: self.step_context.values
                    [start * self.step_context.width..end * self.step_context.width]
                    .to_vec(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_sizes_and_reports_the_first_non_finite_value() {
        let kind = vec![ParticleKind::Water; 2];
        assert!(Trajectory::new(2, 3, vec![0.0; 11], kind.clone()).is_err());
        let mut position = vec![0.0; 12];
        position[9] = f32::NAN; // frame 2, particle 0, y
        assert_eq!(
            Trajectory::new(2, 3, position, kind.clone()),
            Err(CoreError::NonFinite {
                frame: 2,
                particle: 0
            })
        );
        let ok = Trajectory::new(2, 3, (0..12).map(|v| v as f32).collect(), kind).unwrap();
        assert_eq!(ok.frame(1), &[4.0, 5.0, 6.0, 7.0]);
    }

    #[test]
    fn features_are_sized_checked_and_windowed_with_the_frames() {
        let kind = vec![ParticleKind::Sand; 2];
        let t = Trajectory::new(2, 3, vec![0.0; 12], kind).unwrap();
        assert!(t.clone().with_material(1, vec![0.5]).is_err()); // one value for two particles
        assert!(
            t.clone()
                .with_step_context(1, vec![0.0, f32::NAN, 0.0])
                .is_err()
        );
        let t = t
            .with_material(1, vec![0.5, 0.7])
            .unwrap()
            .with_step_context(2, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
            .unwrap();
        let w = t.window(1, 3);
        assert_eq!(w.step_context.values, [2.0, 3.0, 4.0, 5.0]);
        assert_eq!(w.step_context.row(0), [2.0, 3.0]);
        assert_eq!(w.material.values, [0.5, 0.7]);
    }
}
