//! Particle state, generic over the dimension.

use crate::{ParticleKind, Real};

/// Positions, velocities and kinds of a particle system in `D` dimensions.
///
/// Plain data (style: "state is plain data"): simulators keep their own extra per-particle
/// fields beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticleState<const D: usize> {
    /// World-frame positions.
    pub position: Vec<[Real; D]>,
    /// World-frame velocities.
    pub velocity: Vec<[Real; D]>,
    /// One kind per particle.
    pub kind: Vec<ParticleKind>,
}

impl<const D: usize> ParticleState<D> {
    /// Particles at rest at the given positions.
    pub fn at_rest(position: Vec<[Real; D]>, kind: Vec<ParticleKind>) -> Self {
        assert_eq!(position.len(), kind.len(), "one kind per particle");
        let velocity = vec![[0.0; D]; position.len()];
        Self {
            position,
            velocity,
            kind,
        }
    }

    /// Number of particles.
    pub fn n_particles(&self) -> usize {
        self.position.len()
    }

    /// Positions flattened to `f32` `[N·D]`, the layout datasets store per frame.
    pub fn positions_f32(&self) -> Vec<f32> {
        self.position
            .iter()
            .flat_map(|p| p.iter().map(|&v| v as f32))
            .collect()
    }

    /// Σ ½ m v² with the given per-particle masses.
    pub fn kinetic_energy(&self, mass: &[Real]) -> Real {
        self.velocity
            .iter()
            .zip(mass)
            .map(|(v, m)| 0.5 * m * v.iter().map(|c| c * c).sum::<Real>())
            .sum()
    }
}
