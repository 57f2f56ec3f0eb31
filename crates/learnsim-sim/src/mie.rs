//! Light scattering by a multilayer sphere: the transfer-matrix Mie solver of ScatterNet
//! (Peurifoy et al. 2018), and the silica/TiO₂-in-water spectra its case learns.
//!
//! Per multipole order l and polarisation, each interface at radius a between an inner medium
//! (wavenumber k₁, permittivity ε₁) and an outer one (k₂, ε₂) maps the inner field's
//! coefficients on (j_l, y_l) to the outer's by T = A·B with x₁ = k₁a, x₂ = k₂a, j̃ = d/dx[x j_l]
//! and ỹ = d/dx[x y_l]:
//!
//! - TE: A = [[ỹ₂, −y₂], [−j̃₂, j₂]], B = [[j₁, y₁], [j̃₁, ỹ₁]];
//! - TM: A = [[ε₁ỹ₂, −y₂], [−ε₁j̃₂, j₂]], B = [[j₁, y₁], [ε₂j̃₁, ε₂ỹ₁]].
//!
//! (A is the inverse of the outer medium's value/derivative matrix up to its Wronskian, a
//! scalar that cancels below.) The core holds only the regular wave (1, 0); with M the product
//! of the interfaces from the core out, t = M₁₁/M₂₁ and R = (t − i)/(t + i), and each channel
//! adds σ_sca = (2l+1)π/(2k²)|1 − R|² and σ_abs = (2l+1)π/(2k²)(1 − |R|²), k the host's
//! wavenumber. j_l comes from downward (Miller) recurrence, stable for l > |x| where the upward
//! one is not; y_l from the upward one, which is stable for it.

use crate::SimError;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Permittivity of silica (the core and every odd shell).
pub const EPS_SILICA: f64 = 2.04;
/// Permittivity of water, the host medium.
pub const EPS_WATER: f64 = 1.77;

/// Permittivity of TiO₂ at `wavelength_nm` (ScatterNet's dispersion fit).
pub fn eps_tio2(wavelength_nm: f64) -> f64 {
    let um = wavelength_nm / 1000.0;
    5.913 + 0.2441 / (um * um - 0.0803)
}

/// The multipole order ScatterNet sums to for a particle of `layers` shells: 2–3 → 4,
/// 4–5 → 9, 6–7 → 12, 8–9 → 15.
pub fn multipole_order(layers: usize) -> usize {
    match layers {
        0..=3 => 4,
        4..=5 => 9,
        6..=7 => 12,
        _ => 15,
    }
}

/// Scattering and absorption efficiencies: cross sections divided by πR², R the outer radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Efficiencies {
    /// σ_sca / πR².
    pub scattering: f64,
    /// σ_abs / πR² (zero for lossless layers).
    pub absorption: f64,
}

impl Efficiencies {
    /// σ_ext / πR² = scattering + absorption.
    pub fn extinction(&self) -> f64 {
        self.scattering + self.absorption
    }
}

/// Spherical Bessel functions j_l(z), y_l(z) for l = 0..=order, and the Riccati derivatives
/// d/dz[z j_l(z)], d/dz[z y_l(z)].
struct Bessel {
    j: Vec<Complex64>,
    y: Vec<Complex64>,
    dj: Vec<Complex64>,
    dy: Vec<Complex64>,
}

impl Bessel {
    fn new(z: Complex64, order: usize) -> Self {
        let n = order + 1;
        // Miller: start far above the wanted orders with an arbitrary seed, recur down,
        // then normalise by the exact j₀ (or j₁ where j₀ is near a zero).
        let start = order + 20 + z.norm().ceil() as usize;
        let mut j = vec![Complex64::new(0.0, 0.0); n];
        let (mut above, mut here) = (Complex64::new(0.0, 0.0), Complex64::new(1e-30, 0.0));
        for l in (1..=start).rev() {
            let below = here * (2 * l + 1) as f64 / z - above;
            above = here;
            here = below;
            if l - 1 < n {
                j[l - 1] = here;
            }
            // Rescale everything kept so far before it overflows (tiny |z| grows fast).
            if here.norm() > 1e150 {
                let s = 1e-150;
                above *= s;
                here *= s;
                for v in &mut j {
                    *v *= s;
                }
            }
        }
        // `here` is now the recurrence's j₀ and `above` its j₁.
        let (sin, cos) = (z.sin(), z.cos());
        let j0 = sin / z;
        let j1 = sin / (z * z) - cos / z;
        let scale = if j0.norm() > j1.norm() {
            j0 / here
        } else {
            j1 / above
        };
        for v in &mut j {
            *v *= scale;
        }
        let mut y = vec![Complex64::new(0.0, 0.0); n];
        y[0] = -cos / z;
        if n > 1 {
            y[1] = -cos / (z * z) - sin / z;
        }
        for l in 1..n.saturating_sub(1) {
            y[l + 1] = y[l] * (2 * l + 1) as f64 / z - y[l - 1];
        }
        // d/dz[z f_l] = z f_{l−1} − l f_l; for l = 0, d/dz[sin z] = cos z and d/dz[−cos z] = sin z.
        let mut dj = vec![cos; n];
        let mut dy = vec![sin; n];
        for l in 1..n {
            dj[l] = z * j[l - 1] - j[l] * l as f64;
            dy[l] = z * y[l - 1] - y[l] * l as f64;
        }
        Self { j, y, dj, dy }
    }
}

type Mat = [[Complex64; 2]; 2];

fn mul(a: &Mat, b: &Mat) -> Mat {
    let mut c = [[Complex64::new(0.0, 0.0); 2]; 2];
    for i in 0..2 {
        for k in 0..2 {
            c[i][k] = a[i][0] * b[0][k] + a[i][1] * b[1][k];
        }
    }
    c
}

/// Efficiencies of a sphere of concentric layers, summed over multipoles 1..=`order`.
///
/// - `radii_nm`: outer radius of each layer, core first, strictly increasing;
/// - `eps`: permittivity of each layer (imaginary part ≥ 0 absorbs, e^{−iωt});
/// - `eps_host`: the (lossless) host medium's permittivity.
pub fn efficiencies(
    radii_nm: &[f64],
    eps: &[Complex64],
    eps_host: f64,
    wavelength_nm: f64,
    order: usize,
) -> Efficiencies {
    debug_assert_eq!(radii_nm.len(), eps.len());
    let omega = 2.0 * std::f64::consts::PI / wavelength_nm;
    let k_host = omega * eps_host.sqrt();
    let host = Complex64::new(eps_host, 0.0);
    let (zero, one) = (Complex64::new(0.0, 0.0), Complex64::new(1.0, 0.0));
    let mut te: Vec<Mat> = vec![[[one, zero], [zero, one]]; order + 1];
    let mut tm = te.clone();
    for (i, (&a, &e1)) in radii_nm.iter().zip(eps).enumerate() {
        let e2 = eps.get(i + 1).copied().unwrap_or(host);
        let (k1, k2) = (omega * e1.sqrt(), omega * e2.sqrt());
        let inner = Bessel::new(k1 * a, order);
        let outer = Bessel::new(k2 * a, order);
        for l in 1..=order {
            let (j1, y1, dj1, dy1) = (inner.j[l], inner.y[l], inner.dj[l], inner.dy[l]);
            let (j2, y2, dj2, dy2) = (outer.j[l], outer.y[l], outer.dj[l], outer.dy[l]);
            let a_te = [[dy2, -y2], [-dj2, j2]];
            let b_te = [[j1, y1], [dj1, dy1]];
            te[l] = mul(&mul(&a_te, &b_te), &te[l]);
            let a_tm = [[e1 * dy2, -y2], [-e1 * dj2, j2]];
            let b_tm = [[j1, y1], [e2 * dj1, e2 * dy1]];
            tm[l] = mul(&mul(&a_tm, &b_tm), &tm[l]);
        }
    }
    let i = Complex64::new(0.0, 1.0);
    let (mut sca, mut abs) = (0.0, 0.0);
    for l in 1..=order {
        for m in [&te[l], &tm[l]] {
            // R = (t − i)/(t + i) with t = M₁₁/M₂₁, written without the division: M₂₁
            // underflows at orders far above the size parameter, where R → 1.
            let r = (m[0][0] - i * m[1][0]) / (m[0][0] + i * m[1][0]);
            let w = (2 * l + 1) as f64 * std::f64::consts::PI / (2.0 * k_host * k_host);
            sca += w * (one - r).norm_sqr();
            abs += w * (1.0 - r.norm_sqr());
        }
    }
    let outer = radii_nm.last().copied().unwrap_or(0.0);
    let area = std::f64::consts::PI * outer * outer;
    Efficiencies {
        scattering: sca / area,
        absorption: abs / area,
    }
}

/// How the ScatterNet spectra are made: shells of alternating silica (core) and TiO₂ in
/// water, thicknesses uniform and rounded, spectra on a uniform wavelength grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScatterRecipe {
    /// Number of layers (core included).
    pub layers: usize,
    /// Thinnest shell (nm).
    pub thickness_min_nm: f64,
    /// Thickest shell (nm).
    pub thickness_max_nm: f64,
    /// Thicknesses are rounded to multiples of this (nm).
    pub thickness_step_nm: f64,
    /// First wavelength (nm).
    pub wavelength_min_nm: f64,
    /// Last wavelength (nm).
    pub wavelength_max_nm: f64,
    /// Points of the spectrum, both ends included.
    pub wavelengths: usize,
}

impl ScatterRecipe {
    /// The case of cases.md: 5 layers of 30–70 nm (0.1 nm steps), 400–800 nm in 201 points.
    pub fn five_layers() -> Self {
        Self {
            layers: 5,
            thickness_min_nm: 30.0,
            thickness_max_nm: 70.0,
            thickness_step_nm: 0.1,
            wavelength_min_nm: 400.0,
            wavelength_max_nm: 800.0,
            wavelengths: 201,
        }
    }

    /// Checks the recipe, naming the first problem.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Scene(format!("nanophotonics recipe: {m}")));
        if self.layers == 0 || self.layers > 16 {
            return bad(format!("{} layers (1–16 supported)", self.layers));
        }
        if !(self.thickness_min_nm > 0.0 && self.thickness_min_nm <= self.thickness_max_nm) {
            return bad(format!(
                "thicknesses {}–{} nm",
                self.thickness_min_nm, self.thickness_max_nm
            ));
        }
        if !(self.wavelength_min_nm > 0.0 && self.wavelength_min_nm < self.wavelength_max_nm)
            || self.wavelengths < 2
        {
            return bad(format!(
                "wavelengths {}–{} nm in {} points",
                self.wavelength_min_nm, self.wavelength_max_nm, self.wavelengths
            ));
        }
        if self.thickness_step_nm < 0.0 {
            return bad(format!("thickness step {}", self.thickness_step_nm));
        }
        Ok(())
    }

    /// The wavelength grid (nm).
    pub fn grid(&self) -> Vec<f64> {
        let step =
            (self.wavelength_max_nm - self.wavelength_min_nm) / (self.wavelengths - 1) as f64;
        (0..self.wavelengths)
            .map(|i| self.wavelength_min_nm + step * i as f64)
            .collect()
    }

    /// σ_sca/πR² over the grid for shells of `thicknesses_nm` (core first), at the recipe's
    /// multipole order.
    pub fn spectrum(&self, thicknesses_nm: &[f64]) -> Vec<f64> {
        let radii: Vec<f64> = thicknesses_nm
            .iter()
            .scan(0.0, |r, t| {
                *r += t;
                Some(*r)
            })
            .collect();
        let order = multipole_order(thicknesses_nm.len());
        self.grid()
            .into_iter()
            .map(|lambda| {
                let eps: Vec<Complex64> = (0..radii.len())
                    .map(|i| {
                        let e = if i % 2 == 0 {
                            EPS_SILICA
                        } else {
                            eps_tio2(lambda)
                        };
                        Complex64::new(e, 0.0)
                    })
                    .collect();
                efficiencies(&radii, &eps, EPS_WATER, lambda, order).scattering
            })
            .collect()
    }

    /// Thicknesses drawn uniformly in [min, max] and rounded to the step.
    pub fn random_thicknesses(&self, rng: &mut impl Rng) -> Vec<f64> {
        (0..self.layers)
            .map(|_| {
                let t = rng.random_range(self.thickness_min_nm..=self.thickness_max_nm);
                if self.thickness_step_nm > 0.0 {
                    ((t / self.thickness_step_nm).round() * self.thickness_step_nm)
                        .clamp(self.thickness_min_nm, self.thickness_max_nm)
                } else {
                    t
                }
            })
            .collect()
    }
}

/// One particle and its spectrum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterSample {
    /// Layer thicknesses (nm), core first.
    pub thicknesses_nm: Vec<f64>,
    /// σ_sca/πR² on the recipe's grid.
    pub spectrum: Vec<f64>,
}

/// `count` particles, particle `i` drawn from its own RNG seeded by `seeds(i)`, solved in
/// parallel. A non-finite spectrum is an error naming the particle.
pub fn scatter_dataset(
    recipe: &ScatterRecipe,
    count: usize,
    seeds: impl Fn(usize) -> u64 + Sync,
) -> Result<Vec<ScatterSample>, SimError> {
    recipe.check()?;
    (0..count)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seeds(i));
            let thicknesses_nm = recipe.random_thicknesses(&mut rng);
            let spectrum = recipe.spectrum(&thicknesses_nm);
            if spectrum.iter().any(|s| !s.is_finite()) {
                return Err(SimError::Scene(format!(
                    "particle {i} (thicknesses {thicknesses_nm:?} nm): non-finite spectrum"
                )));
            }
            Ok(ScatterSample {
                thicknesses_nm,
                spectrum,
            })
        })
        .collect()
}
