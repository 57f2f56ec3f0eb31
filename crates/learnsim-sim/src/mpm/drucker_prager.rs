//! Sand in MLS-MPM: Drucker–Prager elastoplasticity with a Hencky-strain elastic model
//! (Klar et al. 2016, "Drucker-Prager elastoplasticity for sand animation"; the return mapping
//! follows taichi_elements' `sand_projection`).

use super::MpmParticle;
use super::material::{advect_deformation, lame};
use crate::mat2::{self, Mat2};

/// Drucker–Prager sand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DruckerPrager {
    /// Young's modulus (unit density).
    pub youngs_modulus: f64,
    /// Poisson's ratio.
    pub poisson_ratio: f64,
    /// Friction angle in degrees.
    pub friction_angle_deg: f64,
}

impl Default for DruckerPrager {
    /// E = 1000, ν = 0.2 (Taichi mpm99's stiffness, sound speed ≈ 33 m/s, CFL 0.43 at
    /// dt = 1e-4, dx = 1/128) and a friction angle of 35°, inside the recipe's 30–40°.
    fn default() -> Self {
        Self {
            youngs_modulus: 1000.0,
            poisson_ratio: 0.2,
            friction_angle_deg: 35.0,
        }
    }
}

impl DruckerPrager {
    /// Lamé parameters (μ, λ).
    pub fn lame(&self) -> (f64, f64) {
        lame(self.youngs_modulus, self.poisson_ratio)
    }

    /// The cone's slope α = √(2/3)·2 sin φ / (3 − sin φ) (Klar et al. eq. 27).
    pub fn alpha(&self) -> f64 {
        let s = self.friction_angle_deg.to_radians().sin();
        (2.0f64 / 3.0).sqrt() * 2.0 * s / (3.0 - s)
    }

    /// Projects the singular values onto the yield surface; updates the volume correction.
    fn project(&self, sigma: [f64; 2], log_jp: &mut f64) -> [f64; 2] {
        let (mu, lambda) = self.lame();
        let eps = sigma.map(|s| s.abs().max(1e-4).ln());
        let trace = eps[0] + eps[1] + *log_jp;
        let hat = eps.map(|e| e - trace / 2.0);
        let hat_norm = (hat[0] * hat[0] + hat[1] * hat[1]).sqrt() + 1e-20;
        if trace >= 0.0 {
            // Expansion: the grains separate and carry no stress.
            *log_jp = trace;
            [1.0, 1.0]
        } else {
            *log_jp = 0.0;
            let delta_gamma =
                hat_norm + (2.0 * lambda + 2.0 * mu) / (2.0 * mu) * trace * self.alpha();
            if delta_gamma <= 0.0 {
                // Inside the cone: elastic.
                sigma.map(|s| s.abs().max(1e-4))
            } else {
                std::array::from_fn(|i| (eps[i] - delta_gamma / hat_norm * hat[i]).exp())
            }
        }
    }

    /// Deformation update, return mapping, and Kirchhoff stress τ = U(2μ ln Σ + λ tr(ln Σ))Uᵀ.
    pub fn update_and_stress(&self, particle: &mut MpmParticle, dt: f64) -> Mat2 {
        advect_deformation(particle, dt);
        let (u, sigma, v) = mat2::svd(&particle.deformation);
        let sigma = self.project(sigma, &mut particle.log_volume_correction);
        particle.deformation = mat2::compose(&u, sigma, &v);
        let (mu, lambda) = self.lame();
        let log_sigma = sigma.map(f64::ln);
        let trace = log_sigma[0] + log_sigma[1];
        let diag = log_sigma.map(|l| 2.0 * mu * l + lambda * trace);
        mat2::compose(&u, diag, &u)
    }
}
