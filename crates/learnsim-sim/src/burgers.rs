//! 2D viscous Burgers' equation on the periodic square [0, 2π)², PDE-Net 2.0's data solver
//! (aTEAM `burgers2d.py`):
//!
//!   u_t + u u_x + v u_y = ν Δu,   v_t + u v_x + v v_y = ν Δv,
//!
//! with second-order upwind advection (`uw2`), the central 5-point Laplacian and Heun (RK2)
//! sub-steps of at most `max_dt`, recorded every `dt` on a grid `zoom` times coarser (by
//! striding). Initial fields: Fourier modes |k| ≤ `frequency` with Gaussian coefficients,
//! scaled to max|·| = `amplitude`, plus a uniform per-channel shift in ±`shift`.

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
}

fn yes() -> bool {
    true
}

impl BurgersRecipe {
    /// PDE-Net 2.0's Burgers recipe at cases.md's CPU size: ν = 0.05, 32² model grid from a
    /// 64² data grid, sub-steps ≤ 1/800, frames every 0.01.
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

/// Second-order upwind derivative of `f` along `axis` (0 = x, 1 = y) with velocity `a`.
fn upwind(f: &[f64], a: f64, m: usize, i: usize, j: usize, axis: usize, h: f64) -> f64 {
    let at = |s: isize| {
        let (mut ii, mut jj) = (i as isize, j as isize);
        if axis == 0 {
            ii += s;
        } else {
            jj += s;
        }
        let w = |x: isize| x.rem_euclid(m as isize) as usize;
        f[w(ii) * m + w(jj)]
    };
    if a >= 0.0 {
        (3.0 * at(0) - 4.0 * at(-1) + at(-2)) / (2.0 * h)
    } else {
        (-3.0 * at(0) + 4.0 * at(1) - at(2)) / (2.0 * h)
    }
}

fn laplacian(f: &[f64], m: usize, i: usize, j: usize, h: f64) -> f64 {
    let w = |x: usize, d: isize| (x as isize + d).rem_euclid(m as isize) as usize;
    (f[w(i, 1) * m + j] + f[w(i, -1) * m + j] + f[i * m + w(j, 1)] + f[i * m + w(j, -1)]
        - 4.0 * f[i * m + j])
        / (h * h)
}

impl Velocity2 {
    /// The right-hand side (u_t, v_t) of viscous Burgers with `uw2` advection, or of the heat
    /// equation when `advection` is off.
    pub fn rhs(&self, viscosity: f64, advection: bool) -> (Vec<f64>, Vec<f64>) {
        let m = self.m;
        let h = std::f64::consts::TAU / m as f64;
        let mut du = vec![0.0; m * m];
        let mut dv = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                let p = i * m + j;
                let (a, b) = if advection {
                    (self.u[p], self.v[p])
                } else {
                    (0.0, 0.0)
                };
                du[p] = -a * upwind(&self.u, a, m, i, j, 0, h)
                    - b * upwind(&self.u, b, m, i, j, 1, h)
                    + viscosity * laplacian(&self.u, m, i, j, h);
                dv[p] = -a * upwind(&self.v, a, m, i, j, 0, h)
                    - b * upwind(&self.v, b, m, i, j, 1, h)
                    + viscosity * laplacian(&self.v, m, i, j, h);
            }
        }
        (du, dv)
    }

    /// One Heun step, with or without advection.
    pub fn heun(&mut self, viscosity: f64, dt: f64, advection: bool) {
        let (du0, dv0) = self.rhs(viscosity, advection);
        let mid = Velocity2 {
            m: self.m,
            u: self.u.iter().zip(&du0).map(|(x, d)| x + dt * d).collect(),
            v: self.v.iter().zip(&dv0).map(|(x, d)| x + dt * d).collect(),
        };
        let (du1, dv1) = mid.rhs(viscosity, advection);
        for p in 0..self.u.len() {
            self.u[p] += 0.5 * dt * (du0[p] + du1[p]);
            self.v[p] += 0.5 * dt * (dv0[p] + dv1[p]);
        }
    }

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

/// A random field of modes |k| ≤ `frequency` on an m × m grid, scaled to max|·| = `amplitude`.
fn random_channel(m: usize, frequency: usize, amplitude: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
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
    let peak = field.iter().fold(0.0f64, |p, v| p.max(v.abs())).max(1e-12);
    field.iter().map(|v| v * amplitude / peak).collect()
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
    let mut state = Velocity2 {
        m,
        u: random_channel(m, recipe.frequency, recipe.amplitude, &mut rng),
        v: random_channel(m, recipe.frequency, recipe.amplitude, &mut rng),
    };
    for f in [&mut state.u, &mut state.v] {
        let shift = recipe.shift * (2.0 * rng.random::<f64>() - 1.0);
        f.iter_mut().for_each(|x| *x += shift);
    }
    let advance = |state: &mut Velocity2, duration: f64| -> Result<(), SimError> {
        if duration <= 0.0 {
            return Ok(());
        }
        let steps = (duration / recipe.max_dt).ceil() as usize;
        let dt = duration / steps as f64;
        for s in 0..steps {
            state.heun(recipe.viscosity, dt, recipe.advection);
            if !state.is_finite() {
                return Err(SimError::NonFinite {
                    step: s,
                    particle: 0,
                });
            }
        }
        Ok(())
    };
    advance(&mut state, start)?;
    let mut clean = Vec::with_capacity(frames);
    for t in 0..frames {
        if t > 0 {
            advance(&mut state, recipe.dt)?;
        }
        clean.push(state.stride(recipe.zoom));
    }
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
