//! Goop in MLS-MPM: Neo-Hookean elasticity with a plastic clamp on the singular values of F
//! (the clamp of Stomakhin et al. 2013's snow, without hardening, so plastic flow never
//! stiffens the material).

use super::MpmParticle;
use super::material::{advect_deformation, lame};
use crate::mat2::{self, Mat2};

/// Elastoplastic Neo-Hookean goop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlasticNeoHookean {
    /// Young's modulus (unit density).
    pub youngs_modulus: f64,
    /// Poisson's ratio.
    pub poisson_ratio: f64,
    /// Largest elastic compression θ_c: σ ≥ 1 − θ_c.
    pub critical_compression: f64,
    /// Largest elastic stretch θ_s: σ ≤ 1 + θ_s.
    pub critical_stretch: f64,
}

impl Default for PlasticNeoHookean {
    /// A soft solid (E = 300, ν = 0.2; Taichi mpm99's jelly is E·0.3 = 300) that yields past
    /// 2.5 % compression or 0.45 % stretch (Stomakhin et al.'s snow thresholds).
    fn default() -> Self {
        Self {
            youngs_modulus: 300.0,
            poisson_ratio: 0.2,
            critical_compression: 2.5e-2,
            critical_stretch: 4.5e-3,
        }
    }
}

impl PlasticNeoHookean {
    /// Lamé parameters (μ, λ).
    pub fn lame(&self) -> (f64, f64) {
        lame(self.youngs_modulus, self.poisson_ratio)
    }

    /// Deformation update, clamp, and Kirchhoff stress τ = μ(FFᵀ − I) + λ ln(J) I.
    pub fn update_and_stress(&self, particle: &mut MpmParticle, dt: f64) -> Mat2 {
        advect_deformation(particle, dt);
        let (u, sigma, v) = mat2::svd(&particle.deformation);
        let sigma =
            sigma.map(|s| s.clamp(1.0 - self.critical_compression, 1.0 + self.critical_stretch));
        particle.deformation = mat2::compose(&u, sigma, &v);
        let (mu, lambda) = self.lame();
        let j = sigma[0] * sigma[1];
        let b = mat2::compose(&u, sigma.map(|s| s * s), &u);
        let pressure_term = lambda * j.ln();
        [
            [mu * (b[0][0] - 1.0) + pressure_term, mu * b[0][1]],
            [mu * b[1][0], mu * (b[1][1] - 1.0) + pressure_term],
        ]
    }
}
