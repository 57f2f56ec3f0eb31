//! A stored trajectory: positions per frame and one kind per particle.

use crate::{CoreError, ParticleKind};

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
}
