//! Plasma: a 1D1V (and 2D2V) electrostatic particle-in-cell code (the ground truth of
//! `plasma-1d`; its paper tier runs in 2D).
//!
//! - `pic.rs`: cloud-in-cell deposition and interpolation, leapfrog push, per-step energies,
//!   momentum and mode power, with the field solve behind [`FieldSolver`] so that a learned
//!   solver runs in the same loop (Aguilar & Markidis 2021).
//! - `poisson.rs`: the FFT solve (the truth) and the second-order finite-difference operator.
//! - `dispersion.rs`: Landau's root of the Vlasov dispersion relation and the cold two-stream
//!   growth rate.
//! - `analysis.rs`: growth and damping rates measured from a run.
//! - `quiet.rs`: quiet-start loading.
//!
//! Units: ω_p = 1, λ_D = 1 (unit thermal speed), electron charge −1 and mass 1 over a uniform
//! ion background. Scenarios drawn per trajectory from a seed: **two-stream** (two beams at ±v0
//! with a small density perturbation in mode m) and **Landau** (a Maxwellian with a density
//! perturbation of amplitude α at wavenumber k, the box one wavelength long).

mod analysis;
mod dispersion;
mod pic;
mod poisson;
mod quiet;

pub use analysis::{DampingFit, GrowthFit, damping_rate, growth_rate};
pub use dispersion::{landau_root, plasma_z, two_stream_growth_rate};
pub use pic::{Electrons, FieldFrame, Grid, Grid1, PhaseSpace, PicHistory, Record, run_pic};
pub use poisson::{FieldSolver, FourierPoisson, Stencil, mode_power};
pub use quiet::{normal_quantile, van_der_corput, van_der_corput_base};

use crate::SimError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// The `[plasma]` table: grid, particles, step and the two scenario families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlasmaRecipe {
    /// 1 (1D1V, the CPU tier) or 2 (2D2V: the perturbations along x, the box square).
    #[serde(default = "one_dimension")]
    pub dimensions: usize,
    /// Grid nodes per axis.
    pub cells: usize,
    /// Macro-particles (electrons; two-stream: both beams together).
    pub particles: usize,
    /// Time step (in 1/ω_p).
    pub dt: f64,
    /// Two-stream scenarios (`[plasma.two_stream]`).
    pub two_stream: TwoStreamRecipe,
    /// Landau-damping scenarios (`[plasma.landau]`).
    pub landau: LandauRecipe,
}

fn one_dimension() -> usize {
    1
}

/// Two beams of density ½ at ±v0, perturbed in mode m; the box holds m wavelengths of the
/// perturbation, k = K/v0 for the drawn K = k·v0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwoStreamRecipe {
    /// Range of the beam speed v0.
    pub v0: [f64; 2],
    /// Range of K = k·v0 of the perturbed mode (unstable for K < 1).
    pub k_v0: [f64; 2],
    /// Range of the perturbed mode number m.
    pub modes: [usize; 2],
    /// Range of the relative density perturbation.
    pub amplitude: [f64; 2],
    /// Thermal spread of each beam (0: cold).
    pub thermal_velocity: f64,
    /// Steps per run (past the saturation of the instability).
    pub steps: usize,
}

/// A Maxwellian (v_th = 1) with n = 1 + α cos(kx + φ) in a box of length 2π/k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandauRecipe {
    /// Range of k·λ_D.
    pub k: [f64; 2],
    /// Range of α.
    pub amplitude: [f64; 2],
    /// Steps per run.
    pub steps: usize,
}

/// One trajectory's physics, drawn from its seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scenario {
    /// Counter-streaming beams.
    TwoStream {
        /// Beam speed.
        v0: f64,
        /// Wavenumber of the perturbed mode.
        k: f64,
        /// Its mode number (the box is m·2π/k long).
        mode: usize,
        /// Relative density perturbation.
        amplitude: f64,
        /// Phase of the perturbation.
        phase: f64,
    },
    /// A perturbed Maxwellian.
    Landau {
        /// Wavenumber (the box is one wavelength).
        k: f64,
        /// Relative density perturbation α.
        amplitude: f64,
        /// Phase.
        phase: f64,
    },
}

/// Which family a trajectory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    /// [`Scenario::TwoStream`].
    TwoStream,
    /// [`Scenario::Landau`].
    Landau,
}

impl Scenario {
    /// The family.
    pub fn kind(&self) -> ScenarioKind {
        match self {
            Self::TwoStream { .. } => ScenarioKind::TwoStream,
            Self::Landau { .. } => ScenarioKind::Landau,
        }
    }

    /// Box length.
    pub fn length(&self) -> f64 {
        match *self {
            Self::TwoStream { k, mode, .. } => 2.0 * PI * mode as f64 / k,
            Self::Landau { k, .. } => 2.0 * PI / k,
        }
    }

    /// The Fourier mode (of the box) that was perturbed.
    pub fn mode(&self) -> usize {
        match *self {
            Self::TwoStream { mode, .. } => mode,
            Self::Landau { .. } => 1,
        }
    }

    /// Linear theory's rate for the perturbed mode: the cold two-stream growth rate (> 0) or
    /// Landau's damping rate (< 0).
    pub fn theory_rate(&self) -> f64 {
        match *self {
            Self::TwoStream { v0, k, .. } => two_stream_growth_rate(k * v0),
            Self::Landau { k, .. } => landau_root(k).im,
        }
    }

    /// Draws a scenario of `kind` from `recipe` with `seed`.
    pub fn draw(recipe: &PlasmaRecipe, kind: ScenarioKind, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut within = |r: [f64; 2]| {
            if r[1] > r[0] {
                rng.random_range(r[0]..=r[1])
            } else {
                r[0]
            }
        };
        match kind {
            ScenarioKind::TwoStream => {
                let t = &recipe.two_stream;
                let v0 = within(t.v0);
                let k_v0 = within(t.k_v0);
                let amplitude = within(t.amplitude);
                let phase = within([0.0, 2.0 * PI]);
                let mode = ChaCha8Rng::seed_from_u64(seed ^ 0x003D_0DE5)
                    .random_range(t.modes[0].min(t.modes[1])..=t.modes[1].max(t.modes[0]));
                Self::TwoStream {
                    v0,
                    k: k_v0 / v0,
                    mode,
                    amplitude,
                    phase,
                }
            }
            ScenarioKind::Landau => {
                let l = &recipe.landau;
                Self::Landau {
                    k: within(l.k),
                    amplitude: within(l.amplitude),
                    phase: within([0.0, 2.0 * PI]),
                }
            }
        }
    }

    /// Steps of a run of this family.
    pub fn steps(&self, recipe: &PlasmaRecipe) -> usize {
        match self {
            Self::TwoStream { .. } => recipe.two_stream.steps,
            Self::Landau { .. } => recipe.landau.steps,
        }
    }

    /// The grid of `cells` nodes per axis over this scenario's box.
    pub fn grid<const D: usize>(&self, cells: usize) -> Grid<D> {
        Grid {
            cells,
            length: self.length(),
        }
    }

    /// The quiet-start electrons: evenly spaced x displaced by ξ(x) = −(α/k) sin(kx + φ) (so
    /// n = 1 + α cos(kx + φ) to first order), in 2D y from the base-5 van der Corput sequence;
    /// velocities from van der Corput sequences through the normal quantile (base 2 for v_x,
    /// base 3 for v_y; Maxwellian: v_th = 1 about 0; beams: ±v0 along x with the recipe's
    /// thermal spread, alternate particles in alternate beams). Every particle has its own x, as
    /// in 1D. The mean velocity is removed so the total momentum starts at zero.
    ///
    /// # Errors
    /// [`SimError::Scene`] with fewer than 2 particles.
    pub fn electrons<const D: usize>(
        &self,
        recipe: &PlasmaRecipe,
    ) -> Result<Electrons<D>, SimError> {
        let n = recipe.particles;
        if n < 2 {
            return Err(SimError::Scene(format!(
                "plasma: need at least 2 particles, got {n}"
            )));
        }
        let length = self.length();
        let (k, amplitude, phase) = match *self {
            Self::TwoStream {
                k,
                amplitude,
                phase,
                ..
            }
            | Self::Landau {
                k,
                amplitude,
                phase,
            } => (k, amplitude, phase),
        };
        let grid: Grid<D> = self.grid(recipe.cells.max(1));
        let mut x = Vec::with_capacity(n);
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let (slot, count, drift, spread, sequence) = match *self {
                Self::TwoStream { v0, .. } => {
                    let beam = i % 2;
                    let count = n.div_ceil(2) - beam * (n % 2);
                    let drift = if beam == 0 { v0 } else { -v0 };
                    (
                        i / 2,
                        count,
                        drift,
                        recipe.two_stream.thermal_velocity,
                        i / 2,
                    )
                }
                Self::Landau { .. } => (i, n, 0.0, 1.0, i),
            };
            let x0 = (slot as f64 + 0.5) * length / count as f64;
            let xi = -(amplitude / k) * (k * x0 + phase).sin();
            let mut position = [0.0; D];
            position[0] = grid.wrap(x0 + xi);
            if D > 1 {
                position[1] = length * van_der_corput_base(sequence, 5);
            }
            x.push(position);
            let mut velocity = [0.0; D];
            velocity[0] = drift
                + if spread > 0.0 {
                    spread * normal_quantile(van_der_corput(sequence))
                } else {
                    0.0
                };
            if D > 1 && spread > 0.0 {
                velocity[1] = spread * normal_quantile(van_der_corput_base(sequence, 3));
            }
            v.push(velocity);
        }
        for d in 0..D {
            let mean = v.iter().map(|u| u[d]).sum::<f64>() / n as f64;
            v.iter_mut().for_each(|u| u[d] -= mean);
        }
        Ok(Electrons { x, v })
    }
}
