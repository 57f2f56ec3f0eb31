//! Water in MLS-MPM: an equation of state on the volume ratio J alone (as Taichi's mpm88).

use super::MpmParticle;
use crate::mat2::Mat2;

/// Weakly compressible liquid with pressure `p = K·(1 − J)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaterEos {
    /// Bulk modulus K (unit density, so the sound speed is √K).
    pub bulk_modulus: f64,
}

impl Default for WaterEos {
    /// K = 400 as in mpm88: sound speed 20 m/s, about 10× the fastest flow of the scenes
    /// (≤ 2 m/s launch plus a fall of ≤ 0.8 m under g = 9.8, v ≤ 4.4 m/s), so density varies by
    /// under Ma² ≈ 5 %.
    fn default() -> Self {
        Self {
            bulk_modulus: 400.0,
        }
    }
}

impl WaterEos {
    /// `J ← J·(1 + dt·tr C)`, then the Kirchhoff stress τ = −p·J·I.
    pub fn update_and_stress(&self, particle: &mut MpmParticle, dt: f64) -> Mat2 {
        let trace = particle.affine[0][0] + particle.affine[1][1];
        particle.volume_ratio *= 1.0 + dt * trace;
        let j = particle.volume_ratio;
        let tau = self.bulk_modulus * (j - 1.0) * j;
        [[tau, 0.0], [0.0, tau]]
    }
}
