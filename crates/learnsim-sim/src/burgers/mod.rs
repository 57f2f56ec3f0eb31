//! 2D viscous Burgers' equation on the periodic square [0, 2π)², the data of PDE-Net 2.0:
//!
//!   u_t + u u_x + v u_y = ν Δu,   v_t + u v_x + v v_y = ν Δv,
//!
//! computed on a grid `zoom` times finer than the model's and recorded every `dt` at the model
//! grid's points (every `zoom`-th point). Two solvers (`solver` in the recipe):
//!
//! - `upwind` (the default; `upwind.rs`): aTEAM's `burgers2d.py` scheme, second-order upwind
//!   advection, the 5-point Laplacian and Heun sub-steps, which differs from the PDE by its
//!   own truncation error;
//! - `spectral` (`spectral.rs`): Fourier derivatives, the 2/3 rule, Lawson's integrating-factor
//!   RK4 in sub-steps of at most `max_dt`: the PDE itself, to the fine grid's resolution.
//!
//! Initial fields: Fourier modes |k| ≤ `frequency` with Gaussian coefficients, scaled to
//! max|·| = `amplitude`, plus a uniform per-channel shift in ±`shift`.

mod spectral;
mod upwind;

pub use spectral::SpectralBurgers;

use crate::SimError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The `[burgers]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurgersRecipe {
    /// Viscosity ν.
    pub viscosity: f64,
    /// Points per side of the model grid.
    pub n: usize,
    /// The data grid is this many times finer.
    pub zoom: usize,
    /// Longest solver sub-step.
    pub max_dt: f64,
    /// Time between recorded frames (the model's step).
    pub dt: f64,
    /// Largest |k| of the initial modes.
    pub frequency: usize,
    /// max|·| of each initial channel before the shift.
    pub amplitude: f64,
    /// Each channel is shifted by U[−shift, shift].
    pub shift: f64,
    /// Observation noise, as a fraction of the initial field's standard deviation.
    pub noise: f64,
    /// Whether the advection terms are on (off: the heat equation, PDE-Net's linear test).
    #[serde(default = "yes")]
    pub advection: bool,
    /// How the data are computed (absent: `upwind`, what every config before meant).
    #[serde(default)]
    pub solver: BurgersSolver,
}

/// The solver of the Burgers data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BurgersSolver {
    /// Fourier pseudo-spectral, 2/3 rule, integrating-factor RK4: the PDE.
    Spectral,
    /// Second-order upwind, 5-point Laplacian, Heun: PDE-Net's aTEAM scheme.
    #[default]
    Upwind,
}

fn yes() -> bool {
    true
}

impl BurgersRecipe {
    /// PDE-Net 2.0's Burgers recipe at cases.md's CPU size: ν = 0.05, 32² model grid from a
    /// 64² grid under aTEAM's upwind scheme, sub-steps ≤ 1/800, frames every 0.01.
    pub fn standard() -> Self {
        Self {
            viscosity: 0.05,
            n: 32,
            zoom: 2,
            max_dt: 1.0 / 800.0,
            dt: 0.01,
            frequency: 4,
            amplitude: 2.0,
            shift: 2.0,
            noise: 0.001,
            advection: true,
            solver: BurgersSolver::Upwind,
        }
    }

    /// The same system solved as the PDE: spectrally on 128², sampled on the 32² model grid.
    pub fn spectral() -> Self {
        Self {
            zoom: 4,
            solver: BurgersSolver::Spectral,
            ..Self::standard()
        }
    }

    /// The model grid's spacing 2π/n.
    pub fn spacing(&self) -> f64 {
        std::f64::consts::TAU / self.n as f64
    }

    /// Checks the recipe.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |what: String| Err(SimError::Scene(format!("burgers recipe: {what}")));
        if !(4..=1024).contains(&self.n) || self.zoom == 0 || self.n * self.zoom > 4096 {
            return bad(format!("n = {}, zoom = {}", self.n, self.zoom));
        }
        for (name, v) in [
            ("max_dt", self.max_dt),
            ("dt", self.dt),
            ("amplitude", self.amplitude),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} = {v} (must be positive)"));
            }
        }
        for (name, v) in [
            ("viscosity", self.viscosity),
            ("shift", self.shift),
            ("noise", self.noise),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} = {v} (must be ≥ 0)"));
            }
        }
        Ok(())
    }
}

/// Two fields (u, v) on an m × m periodic grid, row-major with the first index along x.
#[derive(Debug, Clone, PartialEq)]
pub struct Velocity2 {
    /// Points per side.
    pub m: usize,
    /// u, m² values.
    pub u: Vec<f64>,
    /// v, m² values.
    pub v: Vec<f64>,
}

impl Velocity2 {
    /// Every `zoom`-th point along both axes.
    pub fn stride(&self, zoom: usize) -> Velocity2 {
        let n = self.m / zoom;
        let pick = |f: &[f64]| -> Vec<f64> {
            (0..n)
                .flat_map(|i| (0..n).map(move |j| f[(i * zoom) * self.m + j * zoom]))
                .collect()
        };
        Velocity2 {
            m: n,
            u: pick(&self.u),
            v: pick(&self.v),
        }
    }

    /// Whether every value is finite.
    pub fn is_finite(&self) -> bool {
        self.u.iter().chain(&self.v).all(|x| x.is_finite())
    }
}

/// A random field of modes |k| ≤ `frequency` on an m × m grid, scaled so that its largest
/// value over every `stride`-th point is `amplitude` (stride 1: over the whole grid).
fn random_channel(
    m: usize,
    stride: usize,
    frequency: usize,
    amplitude: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let f = frequency as isize;
    let mut modes = Vec::new();
    for kx in -f..=f {
        for ky in -f..=f {
            if (kx, ky) != (0, 0) && kx * kx + ky * ky <= f * f {
                let a: f64 = StandardNormal.sample(&mut *rng);
                let b: f64 = StandardNormal.sample(&mut *rng);
                modes.push((kx as f64, ky as f64, a, b));
            }
        }
    }
    let h = std::f64::consts::TAU / m as f64;
    let mut field = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            let (x, y) = (i as f64 * h, j as f64 * h);
            field[i * m + j] = modes
                .iter()
                .map(|&(kx, ky, a, b)| {
                    let phase = kx * x + ky * y;
                    a * phase.cos() + b * phase.sin()
                })
                .sum();
        }
    }
    let peak = (0..m)
        .step_by(stride)
        .flat_map(|i| (0..m).step_by(stride).map(move |j| i * m + j))
        .fold(0.0f64, |p, q| p.max(field[q].abs()))
        .max(1e-12);
    field.iter().map(|v| v * amplitude / peak).collect()
}

/// What [`burgers_trajectory`] needs of a solver.
trait Solver {
    /// Advances by one sub-step of `dt`.
    fn advance(&mut self, dt: f64);
    /// Whether the state is finite.
    fn finite(&self) -> bool;
    /// The state on the model grid (every `zoom`-th point).
    fn observe(&self, zoom: usize) -> Velocity2;
}

/// The upwind scheme on the fine grid's point values.
struct Upwind {
    state: Velocity2,
    viscosity: f64,
    advection: bool,
}

impl Solver for Upwind {
    fn advance(&mut self, dt: f64) {
        self.state.heun(self.viscosity, dt, self.advection);
    }
    fn finite(&self) -> bool {
        self.state.is_finite()
    }
    fn observe(&self, zoom: usize) -> Velocity2 {
        self.state.stride(zoom)
    }
}

impl Solver for SpectralBurgers {
    fn advance(&mut self, dt: f64) {
        self.step(dt);
    }
    fn finite(&self) -> bool {
        self.is_finite()
    }
    fn observe(&self, zoom: usize) -> Velocity2 {
        self.velocity().stride(zoom)
    }
}

/// Evolves for `start`, then records `frames` frames `recipe.dt` apart, each interval in
/// equal sub-steps of at most `max_dt`.
fn record(
    solver: &mut dyn Solver,
    recipe: &BurgersRecipe,
    start: f64,
    frames: usize,
) -> Result<Vec<Velocity2>, SimError> {
    let mut taken = 0;
    let mut run = |solver: &mut dyn Solver, duration: f64| -> Result<(), SimError> {
        if duration <= 0.0 {
            return Ok(());
        }
        let steps = (duration / recipe.max_dt).ceil() as usize;
        let dt = duration / steps as f64;
        for _ in 0..steps {
            solver.advance(dt);
            if !solver.finite() {
                return Err(SimError::NonFinite {
                    step: taken,
                    particle: 0,
                });
            }
            taken += 1;
        }
        Ok(())
    };
    run(solver, start)?;
    let mut clean = Vec::with_capacity(frames);
    for t in 0..frames {
        if t > 0 {
            run(solver, recipe.dt)?;
        }
        clean.push(solver.observe(recipe.zoom));
    }
    Ok(clean)
}

/// A trajectory on the model grid: `frames[t]` at time `start + t·dt`, with observation noise.
#[derive(Debug, Clone)]
pub struct BurgersTrajectory {
    /// Observed frames (u, v) on the n × n model grid.
    pub frames: Vec<Velocity2>,
}

/// Simulates `frames` frames (the first included) after evolving the random initial field for
/// `start` time units; observations get Gaussian noise of `noise`·std(u₀) per channel.
pub fn burgers_trajectory(
    recipe: &BurgersRecipe,
    start: f64,
    frames: usize,
    seed: u64,
) -> Result<BurgersTrajectory, SimError> {
    recipe.check()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = recipe.n * recipe.zoom;
    // The spectral data scale the initial field by its peak on the model grid, so that the
    // same seed gives the same initial function whatever the solver's grid (the convergence
    // test compares grids); the upwind data keep their scaling on the fine grid.
    let stride = match recipe.solver {
        BurgersSolver::Spectral => recipe.zoom,
        BurgersSolver::Upwind => 1,
    };
    let mut channel = || random_channel(m, stride, recipe.frequency, recipe.amplitude, &mut rng);
    let (u, v) = (channel(), channel());
    let mut state = Velocity2 { m, u, v };
    for f in [&mut state.u, &mut state.v] {
        let shift = recipe.shift * (2.0 * rng.random::<f64>() - 1.0);
        f.iter_mut().for_each(|x| *x += shift);
    }
    let clean = match recipe.solver {
        BurgersSolver::Upwind => {
            let mut solver = Upwind {
                state,
                viscosity: recipe.viscosity,
                advection: recipe.advection,
            };
            record(&mut solver, recipe, start, frames)?
        }
        BurgersSolver::Spectral => {
            let mut solver = SpectralBurgers::new(&state, recipe.viscosity, recipe.advection);
            record(&mut solver, recipe, start, frames)?
        }
    };
    let std = |f: &[f64]| {
        let mean = f.iter().sum::<f64>() / f.len() as f64;
        (f.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f.len() as f64).sqrt()
    };
    let (su, sv) = (std(&clean[0].u), std(&clean[0].v));
    let frames = clean
        .into_iter()
        .map(|mut f| {
            for (field, s) in [(&mut f.u, su), (&mut f.v, sv)] {
                for x in field.iter_mut() {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    *x += recipe.noise * s * z;
                }
            }
            f
        })
        .collect();
    Ok(BurgersTrajectory { frames })
}
