//! Water in MLS-MPM: an equation of state on the volume ratio J alone (as Taichi's mpm88).

use super::MpmParticle;
use crate::mat2::Mat2;

/// Weakly compressible liquid with pressure `p = K·(1 − J)` and, optionally, a Newtonian
/// viscous stress `2μ·sym(∇v)` and a bulk viscous stress `ζ·(∇·v)·I`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaterEos {
    /// Bulk modulus K (unit density, so the sound speed is √K).
    pub bulk_modulus: f64,
    /// Dynamic viscosity μ (unit density, so also the kinematic viscosity ν). The explicit
    /// update is stable for `dt < dx²/(4ν)`.
    pub viscosity: f64,
    /// Bulk viscosity ζ (unit density): a stress on the rate of compression alone, which damps
    /// sound waves (amplitude decay rate ζk²/2 at wavenumber k) and leaves a divergence-free
    /// flow untouched. Explicitly stable, like μ, for `dt < dx²/(4ζ)`.
    pub bulk_viscosity: f64,
}

impl Default for WaterEos {
    /// K = 400 as in mpm88: sound speed 20 m/s, about 10× the fastest flow of the scenes
    /// (≤ 2 m/s launch plus a fall of ≤ 0.8 m under g = 9.8, v ≤ 4.4 m/s), so density varies by
    /// under Ma² ≈ 5 %.
    fn default() -> Self {
        Self {
            bulk_modulus: 400.0,
            viscosity: 0.0,
            bulk_viscosity: 0.0,
        }
    }
}

impl WaterEos {
    /// The water of `water-drop-2d` (issue #24): mpm88's stiffness with a kinematic viscosity
    /// ν = 0.05 m²/s. Without it the blocks ring acoustically after every impact (a 2L/c period
    /// of a few frames that no model sees coming: 39–41 % of the acceleration variance lay above a
    /// 5-frame moving average), splash up the walls and spread into a film. With it, on the 64²
    /// grid, the ringing share is 0.22 and 94 % of the water lies in the pool at frame 300
    /// (`examples/water_drop_stats.rs`; the sweep is in docs/water-drop.md). Explicit viscosity is
    /// stable for dt < dx²/(4ν) = 1.2e-3 at dx = 1/64, twelve times the substep. No bulk
    /// viscosity: ζ = 0.3 lowers the ringing share to 0.13, but the GNS trained on such data
    /// scored within run-to-run noise of the same recipe on these (docs/water-drop.md).
    pub fn water_drop() -> Self {
        Self {
            bulk_modulus: 400.0,
            viscosity: 0.05,
            bulk_viscosity: 0.0,
        }
    }

    /// `J ← J·(1 + dt·tr C)`, then the Kirchhoff stress τ = J·(−p·I + μ·(C + Cᵀ) + ζ·tr C·I),
    /// with the APIC affine field C as the velocity gradient.
    pub fn update_and_stress(&self, particle: &mut MpmParticle, dt: f64) -> Mat2 {
        let c = particle.affine;
        let trace = c[0][0] + c[1][1];
        particle.volume_ratio *= 1.0 + dt * trace;
        let j = particle.volume_ratio;
        let pressure_term = self.bulk_modulus * (j - 1.0) * j + self.bulk_viscosity * j * trace;
        let mu_j = self.viscosity * j;
        [
            [
                pressure_term + 2.0 * mu_j * c[0][0],
                mu_j * (c[0][1] + c[1][0]),
            ],
            [
                mu_j * (c[0][1] + c[1][0]),
                pressure_term + 2.0 * mu_j * c[1][1],
            ],
        ]
    }
}
