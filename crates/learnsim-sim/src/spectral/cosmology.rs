//! Cosmological structure formation for the D3M case (He et al. 2019; cases.md [6]):
//! Gaussian initial conditions, Lagrangian perturbation theory (Zel'dovich and 2LPT) and a
//! particle-mesh N-body run, in an Einstein–de Sitter universe (Ω_m = 1, D(a) = a, H₀ = 1).
//!
//! Units: the particles start on an n³ lattice of spacing 1, so the box is L = n and the
//! particle Nyquist wavenumber is π. The linear density is δ_L(k) with
//! P(k) = A·kⁿˢ·exp(−k²/k_c²), n_s = −1, k_c = k_Nyq/2, and A chosen so that the expected
//! rms Zel'dovich displacement at a = 1 is `displacement_rms` cells.
//!
//! - ZA: Ψ₁(k) = i k/k²·δ_L(k), so ∇·Ψ₁ = −δ_L.
//! - 2LPT (Scoccimarro 1998): ∇²φ⁽²⁾ = Σ_{i<j}(φ,ii φ,jj − φ,ij²) with ∇²φ = δ_L, and
//!   Ψ(a) = a·Ψ₁ + a²·Ψ₂, Ψ₂ = −3/7·∇φ⁽²⁾ (D₂ = −3/7·D₁²).
//! - PM: with p = a²·dx/dt, dx/da = p·a^{−3/2} and dp/da = (3/2)·a^{−1/2}·g, where
//!   g = −∇ϕ, ∇²ϕ = δ on a `mesh_factor`·n mesh. Kick–drift–kick in a, uniform steps, with
//!   FastPM's kernels (exact linear growth at any step size); the run starts from 2LPT at
//!   `a_start`.

use super::{Fft3, ParticleMesh};
use crate::SimError;
use num_complex::Complex64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The `[universe]` table: lattice, spectrum and the N-body run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosmologyRecipe {
    /// Particles per side (the box side, in lattice cells).
    pub n: usize,
    /// PM mesh points per particle per side (2).
    pub mesh_factor: usize,
    /// n_s of P(k) ∝ kⁿˢ·exp(−k²/k_c²).
    pub spectral_index: f64,
    /// k_c as a fraction of the particle Nyquist wavenumber π.
    pub cutoff: f64,
    /// Expected rms Zel'dovich displacement at a = 1, in cells (sets A).
    pub displacement_rms: f64,
    /// Scale factor at which the N-body run starts from 2LPT.
    pub a_start: f64,
    /// Kick–drift–kick steps from `a_start` to 1.
    pub steps: usize,
}

impl CosmologyRecipe {
    /// The CPU tier of cases.md: 16³ particles on a 32³ mesh, n_s = −1, k_c = k_Nyq/2,
    /// rms ZA displacement 1 cell, 40 steps from a = 0.05.
    pub fn standard() -> Self {
        Self {
            n: 16,
            mesh_factor: 2,
            spectral_index: -1.0,
            cutoff: 0.5,
            displacement_rms: 1.0,
            a_start: 0.05,
            steps: 40,
        }
    }

    /// Checks the recipe.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |what: String| Err(SimError::Scene(format!("cosmology recipe: {what}")));
        if !(4..=256).contains(&self.n) || !self.n.is_multiple_of(2) {
            return bad(format!("n = {} (an even size in 4..=256)", self.n));
        }
        if !(1..=4).contains(&self.mesh_factor) {
            return bad(format!("mesh_factor = {} (1..=4)", self.mesh_factor));
        }
        if !self.spectral_index.is_finite() {
            return bad(format!("spectral_index = {}", self.spectral_index));
        }
        for (name, v) in [
            ("cutoff", self.cutoff),
            ("displacement_rms", self.displacement_rms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} = {v} (must be positive)"));
            }
        }
        if !(self.a_start > 0.0 && self.a_start < 1.0) {
            return bad(format!("a_start = {} (in (0, 1))", self.a_start));
        }
        if self.steps == 0 || self.steps > 100_000 {
            return bad(format!("steps = {} (1..=100000)", self.steps));
        }
        Ok(())
    }

    /// The shape of P(k) without A: kⁿˢ·exp(−k²/k_c²) (0 at k = 0).
    fn shape(&self, k: f64) -> f64 {
        if k == 0.0 {
            return 0.0;
        }
        let kc = self.cutoff * std::f64::consts::PI;
        k.powf(self.spectral_index) * (-(k * k) / (kc * kc)).exp()
    }

    /// A, from E⟨|Ψ₁|²⟩ = (1/n³)·Σ_k A·shape(k)/k² over the lattice's modes (the Nyquist
    /// planes excluded, as in the realisations) equal to `displacement_rms`².
    pub fn amplitude(&self) -> f64 {
        let fft = Fft3::new(self.n);
        let fundamental = std::f64::consts::TAU / self.n as f64;
        let sum: f64 = (0..fft.len())
            .filter(|&m| !on_nyquist(&fft, m))
            .map(|m| {
                let k2: f64 = fft
                    .wavevector(m)
                    .iter()
                    .map(|v| (v * fundamental).powi(2))
                    .sum();
                if k2 == 0.0 {
                    0.0
                } else {
                    self.shape(k2.sqrt()) / k2
                }
            })
            .sum();
        self.displacement_rms.powi(2) * fft.len() as f64 / sum
    }
}

fn on_nyquist(fft: &Fft3, m: usize) -> bool {
    let half = (fft.n() / 2) as f64;
    fft.wavevector(m).iter().any(|k| k.abs() == half)
}

/// A Gaussian linear density field δ_L on the lattice, by its modes.
#[derive(Debug, Clone)]
pub struct LinearField {
    fft: Fft3,
    /// δ̂_L per mode (unnormalised forward transform of the real field).
    modes: Vec<Complex64>,
}

impl LinearField {
    /// A realisation: white noise transformed, filtered by √(power·A·shape(k)), Nyquist planes
    /// and the mean zeroed. `power` scales A (1.5 for the extrapolation test).
    pub fn gaussian(recipe: &CosmologyRecipe, seed: u64, power: f64) -> Result<Self, SimError> {
        recipe.check()?;
        if !(power.is_finite() && power > 0.0) {
            return Err(SimError::Scene(format!(
                "cosmology: power scale {power} (must be positive)"
            )));
        }
        let n = recipe.n;
        let fft = Fft3::new(n);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut modes: Vec<Complex64> = (0..fft.len())
            .map(|_| Complex64::new(StandardNormal.sample(&mut rng), 0.0))
            .collect();
        fft.forward(&mut modes);
        let a = recipe.amplitude() * power;
        let fundamental = std::f64::consts::TAU / n as f64;
        for (m, v) in modes.iter_mut().enumerate() {
            let k = fft
                .wavevector(m)
                .iter()
                .map(|x| (x * fundamental).powi(2))
                .sum::<f64>()
                .sqrt();
            *v *= if on_nyquist(&fft, m) {
                0.0
            } else {
                (a * recipe.shape(k)).sqrt()
            };
        }
        Ok(Self { fft, modes })
    }

    /// Particles per side.
    pub fn n(&self) -> usize {
        self.fft.n()
    }

    /// δ_L in real space.
    pub fn density(&self) -> Vec<f64> {
        self.real(|_| Complex64::new(1.0, 0.0))
    }

    /// The inverse transform of δ̂·kernel(k) (k physical), real part.
    fn real(&self, kernel: impl Fn([f64; 3]) -> Complex64) -> Vec<f64> {
        let fundamental = std::f64::consts::TAU / self.n() as f64;
        let mut a: Vec<Complex64> = self
            .modes
            .iter()
            .enumerate()
            .map(|(m, v)| v * kernel(self.fft.wavevector(m).map(|x| x * fundamental)))
            .collect();
        self.fft.inverse(&mut a);
        a.into_iter().map(|v| v.re).collect()
    }

    /// The Zel'dovich displacement at a = 1, Ψ₁ = i k/k²·δ̂, per component on the lattice.
    pub fn zeldovich(&self) -> [Vec<f64>; 3] {
        std::array::from_fn(|d| {
            self.real(|k| {
                let k2: f64 = k.iter().map(|v| v * v).sum();
                if k2 == 0.0 {
                    Complex64::default()
                } else {
                    Complex64::new(0.0, k[d] / k2)
                }
            })
        })
    }

    /// The second-order displacement Ψ₂ = −3/7·∇φ⁽²⁾ (its a² coefficient).
    pub fn second_order(&self) -> [Vec<f64>; 3] {
        // φ,ij = k_i k_j δ̂/k² (from φ̂ = −δ̂/k²).
        let hessian = |i: usize, j: usize| {
            self.real(move |k| {
                let k2: f64 = k.iter().map(|v| v * v).sum();
                if k2 == 0.0 {
                    Complex64::default()
                } else {
                    Complex64::new(k[i] * k[j] / k2, 0.0)
                }
            })
        };
        let h: [[Vec<f64>; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| hessian(i, j)));
        let source: Vec<Complex64> = (0..self.fft.len())
            .map(|p| {
                let s = h[0][0][p] * h[1][1][p] + h[0][0][p] * h[2][2][p] + h[1][1][p] * h[2][2][p]
                    - h[0][1][p].powi(2)
                    - h[0][2][p].powi(2)
                    - h[1][2][p].powi(2);
                Complex64::new(s, 0.0)
            })
            .collect();
        let second = Self {
            fft: self.fft.clone(),
            modes: {
                let mut s = source;
                self.fft.forward(&mut s);
                // The product's Nyquist planes have no real counterpart; drop them as in δ_L.
                for (m, v) in s.iter_mut().enumerate() {
                    if on_nyquist(&self.fft, m) {
                        *v = Complex64::default();
                    }
                }
                s
            },
        };
        // φ̂⁽²⁾ = −Ŝ/k²; Ψ₂ = −3/7·i k φ̂⁽²⁾ = (3/7)·i k Ŝ/k².
        std::array::from_fn(|d| {
            second.real(|k| {
                let k2: f64 = k.iter().map(|v| v * v).sum();
                if k2 == 0.0 {
                    Complex64::default()
                } else {
                    Complex64::new(0.0, 3.0 / 7.0 * k[d] / k2)
                }
            })
        })
    }
}

/// The lattice point of particle `p` (row-major `[x][y][z]`, spacing 1).
pub fn lattice_point(p: usize, n: usize) -> [f64; 3] {
    [(p / (n * n)) as f64, ((p / n) % n) as f64, (p % n) as f64]
}

/// The displacement x − q wrapped into [−L/2, L/2) per axis.
fn wrapped(x: [f64; 3], q: [f64; 3], box_len: f64) -> [f64; 3] {
    std::array::from_fn(|d| {
        let s = x[d] - q[d];
        s - box_len * (s / box_len).round()
    })
}

/// One simulated universe: the three displacement fields at a = 1, component-first
/// `[c][x][y][z]` on the lattice.
#[derive(Debug, Clone)]
pub struct Universe {
    /// Zel'dovich, a·Ψ₁.
    pub zeldovich: [Vec<f64>; 3],
    /// 2LPT, a·Ψ₁ + a²·Ψ₂.
    pub second_order: [Vec<f64>; 3],
    /// The particle-mesh N-body result, x(a = 1) − q.
    pub n_body: [Vec<f64>; 3],
}

/// Runs the PM N-body code from 2LPT at `a_start` to a = 1, calling `progress(step)`.
/// Returns x(1) − q wrapped to the nearest image.
pub fn particle_mesh_run(
    recipe: &CosmologyRecipe,
    psi1: &[Vec<f64>; 3],
    psi2: &[Vec<f64>; 3],
    progress: &mut dyn FnMut(usize),
) -> Result<[Vec<f64>; 3], SimError> {
    recipe.check()?;
    let n = recipe.n;
    let count = n * n * n;
    if psi1.iter().chain(psi2).any(|c| c.len() != count) {
        return Err(SimError::Scene(format!(
            "cosmology: displacement fields must hold n³ = {count} values"
        )));
    }
    let box_len = n as f64;
    let pm = ParticleMesh::new(recipe.mesh_factor * n, box_len);
    let a0 = recipe.a_start;
    let wrap = |x: f64| x.rem_euclid(box_len);
    let mut x: Vec<[f64; 3]> = (0..count)
        .map(|p| {
            let q = lattice_point(p, n);
            std::array::from_fn(|d| wrap(q[d] + a0 * psi1[d][p] + a0 * a0 * psi2[d][p]))
        })
        .collect();
    // p = a^{3/2}·dx/da = a^{3/2}(Ψ₁ + 2aΨ₂).
    let mut mom: Vec<[f64; 3]> = (0..count)
        .map(|p| std::array::from_fn(|d| a0.powf(1.5) * (psi1[d][p] + 2.0 * a0 * psi2[d][p])))
        .collect();
    let da = (1.0 - a0) / recipe.steps as f64;
    // FastPM's kernels (Feng et al. 2016) for D(a) = a: the kick from a₁ to a₂ with the
    // force taken at a_f is (a₂^{3/2} − a₁^{3/2})/a_f, the drift with the momentum taken at
    // a_p is (a₂ − a₁)/a_p^{3/2}. Both are exact for the linear growing mode
    // (p = a^{3/2}Ψ, g = aΨ) at any step size, where the plain integrals of (3/2)a^{−1/2}
    // and a^{−3/2} lose growth when Δa/a is large (Δa/a ≈ 0.5 at the first step).
    let kick = |a1: f64, a2: f64, force_at: f64| (a2.powf(1.5) - a1.powf(1.5)) / force_at;
    let drift = |a1: f64, a2: f64, momentum_at: f64| (a2 - a1) / momentum_at.powf(1.5);
    let mut g = pm.accelerations(&x);
    for step in 0..recipe.steps {
        let a = a0 + step as f64 * da;
        let (half, next) = (a + 0.5 * da, a + da);
        let k1 = kick(a, half, a);
        let dr = drift(a, next, half);
        for ((xi, pi), gi) in x.iter_mut().zip(&mut mom).zip(&g) {
            for d in 0..3 {
                pi[d] += k1 * gi[d];
                xi[d] = wrap(xi[d] + dr * pi[d]);
            }
        }
        g = pm.accelerations(&x);
        let k2 = kick(half, next, next);
        for (pi, gi) in mom.iter_mut().zip(&g) {
            for d in 0..3 {
                pi[d] += k2 * gi[d];
            }
        }
        if let Some(bad) = x.iter().position(|v| v.iter().any(|c| !c.is_finite())) {
            return Err(SimError::NonFinite {
                step,
                particle: bad,
            });
        }
        progress(step + 1);
    }
    let mut out: [Vec<f64>; 3] = std::array::from_fn(|_| vec![0.0; count]);
    for (p, xi) in x.iter().enumerate() {
        let s = wrapped(*xi, lattice_point(p, n), box_len);
        for d in 0..3 {
            out[d][p] = s[d];
        }
    }
    Ok(out)
}

/// Initial conditions from `seed` (δ scaled by √power), their LPT displacements and the
/// N-body run.
pub fn universe(
    recipe: &CosmologyRecipe,
    seed: u64,
    power: f64,
    progress: &mut dyn FnMut(usize),
) -> Result<Universe, SimError> {
    let field = LinearField::gaussian(recipe, seed, power)?;
    let psi1 = field.zeldovich();
    let psi2 = field.second_order();
    let n_body = particle_mesh_run(recipe, &psi1, &psi2, progress)?;
    let second_order =
        std::array::from_fn(|d| psi1[d].iter().zip(&psi2[d]).map(|(a, b)| a + b).collect());
    Ok(Universe {
        zeldovich: psi1,
        second_order,
        n_body,
    })
}
