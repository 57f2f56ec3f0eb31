//! Constitutive models for MLS-MPM: each turns a particle's deformation into a Kirchhoff stress,
//! applying its plastic return mapping first.

use super::MpmParticle;
use super::drucker_prager::DruckerPrager;
use super::plastic_neo_hookean::PlasticNeoHookean;
use super::water_eos::WaterEos;
use crate::mat2::Mat2;
use learnsim_core::ParticleKind;

/// The material of every particle in a scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Material {
    /// Weakly compressible liquid.
    Water(WaterEos),
    /// Granular Drucker–Prager elastoplasticity.
    Sand(DruckerPrager),
    /// Viscoplastic "goop".
    Goop(PlasticNeoHookean),
}

/// How grid nodes next to a wall treat velocity into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallFriction {
    /// Only the normal component is removed.
    Slip,
    /// The whole velocity is removed.
    Sticky,
}

impl Material {
    /// The default water of the flagship cases.
    pub fn water() -> Self {
        Self::Water(WaterEos::default())
    }

    /// The default sand of the flagship cases.
    pub fn sand() -> Self {
        Self::Sand(DruckerPrager::default())
    }

    /// The default goop of the flagship cases.
    pub fn goop() -> Self {
        Self::Goop(PlasticNeoHookean::default())
    }

    /// The particle kind this material is stored as.
    pub fn kind(&self) -> ParticleKind {
        match self {
            Self::Water(_) => ParticleKind::Water,
            Self::Sand(_) => ParticleKind::Sand,
            Self::Goop(_) => ParticleKind::Goop,
        }
    }

    /// Wall condition of the recipe: sticky walls for sand, slip for the others.
    pub fn wall_friction(&self) -> WallFriction {
        match self {
            Self::Sand(_) => WallFriction::Sticky,
            Self::Water(_) | Self::Goop(_) => WallFriction::Slip,
        }
    }

    /// Largest elastic wave speed √((λ + 2μ)/ρ) for unit density, for the CFL check.
    pub fn wave_speed(&self) -> f64 {
        match self {
            Self::Water(w) => w.bulk_modulus.sqrt(),
            Self::Sand(s) => {
                let (mu, lambda) = s.lame();
                (lambda + 2.0 * mu).sqrt()
            }
            Self::Goop(g) => {
                let (mu, lambda) = g.lame();
                (lambda + 2.0 * mu).sqrt()
            }
        }
    }

    /// Updates the particle's deformation by the velocity gradient `C` over `dt`, applies the
    /// plastic projection, and returns the Kirchhoff stress τ.
    pub fn update_and_stress(&self, particle: &mut MpmParticle, dt: f64) -> Mat2 {
        match self {
            Self::Water(w) => w.update_and_stress(particle, dt),
            Self::Sand(s) => s.update_and_stress(particle, dt),
            Self::Goop(g) => g.update_and_stress(particle, dt),
        }
    }
}

/// Lamé parameters (μ, λ) from Young's modulus and Poisson's ratio.
pub fn lame(youngs_modulus: f64, poisson_ratio: f64) -> (f64, f64) {
    let mu = youngs_modulus / (2.0 * (1.0 + poisson_ratio));
    let lambda =
        youngs_modulus * poisson_ratio / ((1.0 + poisson_ratio) * (1.0 - 2.0 * poisson_ratio));
    (mu, lambda)
}

/// `F ← (I + dt·C)·F`, the MLS-MPM deformation update.
pub fn advect_deformation(particle: &mut MpmParticle, dt: f64) {
    let c = particle.affine;
    let step: Mat2 = [
        [1.0 + dt * c[0][0], dt * c[0][1]],
        [dt * c[1][0], 1.0 + dt * c[1][1]],
    ];
    particle.deformation = crate::mat2::mul(&step, &particle.deformation);
}
