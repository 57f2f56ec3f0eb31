//! Forced homogeneous isotropic turbulence: 3D incompressible Navier–Stokes on [0, 2π)³,
//! pseudo-spectral in rotational form,
//!
//!   ∂û/∂t = P(k)·F[u × ω] − ν|k|²û + f̂,   ω = ∇ × u,   P = I − kkᵀ/|k|²,
//!
//! with the 2/3 rule on the product, Heun (RK2) with an exact integrating factor for the
//! viscous term, and band forcing f̂ = ε/(2E_f)·û on 0 < |k| ≤ k_f, which injects exactly ε
//! per unit time (E_f is the energy in the band). ν follows from k_max·η = `kmax_eta` with
//! η = (ν³/ε)^{1/4} and k_max = √2·n/3.

use super::Fft3;
use crate::SimError;
use num_complex::Complex64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The `[flow]` table: grid, forcing, viscosity and sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurbulenceRecipe {
    /// Grid points per side.
    pub n: usize,
    /// Energy injection rate ε.
    pub injection: f64,
    /// Forced band 0 < |k| ≤ this.
    pub forcing_wavenumber: f64,
    /// k_max·η at the injection rate; sets ν.
    pub kmax_eta: f64,
    /// Kinetic energy ½⟨|u|²⟩ of the initial field.
    pub initial_energy: f64,
    /// Peak wavenumber of the initial spectrum E₀(k) ∝ k⁴ exp(−2(k/k₀)²).
    pub initial_peak: f64,
    /// Courant number of the time step, dt = cfl·dx/max|u|.
    pub cfl: f64,
    /// Spin-up time before the first snapshot.
    pub spin_up: f64,
    /// Snapshots after spin-up.
    pub snapshots: usize,
    /// Time between snapshots, in large-eddy turnover times T_L = L/u′ measured at the end of
    /// spin-up.
    pub snapshot_turnovers: f64,
}

impl TurbulenceRecipe {
    /// The CPU tier: 32³, ε = 0.1, k_max·η = 1, 100 snapshots half an eddy turnover apart.
    pub fn standard() -> Self {
        Self {
            n: 32,
            injection: 0.1,
            forcing_wavenumber: 2.0,
            kmax_eta: 1.0,
            initial_energy: 0.5,
            initial_peak: 2.0,
            cfl: 0.5,
            spin_up: 30.0,
            snapshots: 100,
            snapshot_turnovers: 0.5,
        }
    }

    /// Grid spacing 2π/n.
    pub fn spacing(&self) -> f64 {
        std::f64::consts::TAU / self.n as f64
    }

    /// Kinematic viscosity from k_max·η: ν = (ε η⁴)^{1/3}, η = kmax_eta / (√2 n/3).
    pub fn viscosity(&self) -> f64 {
        let k_max = std::f64::consts::SQRT_2 * self.n as f64 / 3.0;
        let eta = self.kmax_eta / k_max;
        (self.injection * eta.powi(4)).cbrt()
    }

    /// Checks the recipe.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |what: String| Err(SimError::Scene(format!("turbulence recipe: {what}")));
        if !(8..=256).contains(&self.n) || !self.n.is_multiple_of(2) {
            return bad(format!("n = {} (an even size in 8..=256)", self.n));
        }
        for (name, v) in [
            ("injection", self.injection),
            ("forcing_wavenumber", self.forcing_wavenumber),
            ("kmax_eta", self.kmax_eta),
            ("initial_energy", self.initial_energy),
            ("initial_peak", self.initial_peak),
            ("cfl", self.cfl),
            ("snapshot_turnovers", self.snapshot_turnovers),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} = {v} (must be positive)"));
            }
        }
        if !(self.spin_up.is_finite() && self.spin_up >= 0.0) {
            return bad(format!("spin_up = {}", self.spin_up));
        }
        if self.cfl > 1.0 {
            return bad(format!("cfl = {} (Heun needs ≤ 1)", self.cfl));
        }
        Ok(())
    }
}

/// A flow state: the transforms of the three velocity components.
#[derive(Debug, Clone)]
pub struct Turbulence {
    fft: Fft3,
    /// û_c for c = x, y, z.
    modes: [Vec<Complex64>; 3],
    /// ν.
    viscosity: f64,
    /// ε (0 switches forcing off).
    injection: f64,
    /// |k|² per mode.
    k2: Vec<f64>,
    /// 2/3-rule mask per mode.
    kept: Vec<bool>,
    /// The forced modes, 0 < |k| ≤ k_f.
    band: Vec<usize>,
    /// Simulated time.
    pub time: f64,
}

impl Turbulence {
    /// A state from physical velocities `u[c]` (n³ values each, `[x][y][z]` order), projected
    /// onto divergence-free fields and de-aliased.
    pub fn from_velocity(
        n: usize,
        u: &[Vec<f64>; 3],
        viscosity: f64,
        injection: f64,
        forcing_wavenumber: f64,
    ) -> Self {
        let fft = Fft3::new(n);
        let modes = u.clone().map(|c| {
            let mut a: Vec<Complex64> = c.iter().map(|&v| Complex64::new(v, 0.0)).collect();
            fft.forward(&mut a);
            a
        });
        let k2 = (0..fft.len())
            .map(|m| fft.wavevector(m).iter().map(|k| k * k).sum())
            .collect();
        let kept = (0..fft.len()).map(|m| fft.kept(m)).collect();
        let band = (0..fft.len())
            .filter(|&m| {
                let k2: f64 = fft.wavevector(m).iter().map(|k| k * k).sum();
                k2 > 0.0 && k2 <= forcing_wavenumber * forcing_wavenumber
            })
            .collect();
        let mut state = Self {
            fft,
            modes,
            viscosity,
            injection,
            k2,
            kept,
            band,
            time: 0.0,
        };
        let mut modes = std::mem::take(&mut state.modes);
        state.project(&mut modes);
        state.modes = modes;
        state
    }

    /// The recipe's random initial field, E₀(k) ∝ k⁴ exp(−2(k/k₀)²) scaled to the initial
    /// energy: Gaussian white noise filtered by k·exp(−(k/k₀)²) per mode, projected.
    pub fn random(recipe: &TurbulenceRecipe, seed: u64) -> Result<Self, SimError> {
        recipe.check()?;
        let n = recipe.n;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise: [Vec<f64>; 3] = std::array::from_fn(|_| {
            (0..n * n * n)
                .map(|_| StandardNormal.sample(&mut rng))
                .collect()
        });
        let mut state = Self::from_velocity(
            n,
            &noise,
            recipe.viscosity(),
            recipe.injection,
            recipe.forcing_wavenumber,
        );
        let k0 = recipe.initial_peak;
        for c in 0..3 {
            for m in 0..state.fft.len() {
                let k = state.k2[m].sqrt();
                state.modes[c][m] *= k * (-(k / k0).powi(2)).exp();
            }
        }
        let scale = (recipe.initial_energy / state.energy()).sqrt();
        for c in &mut state.modes {
            c.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(state)
    }

    /// The FFT plan of this grid.
    pub fn fft(&self) -> &Fft3 {
        &self.fft
    }

    /// The velocity transforms û_c.
    pub fn modes(&self) -> &[Vec<Complex64>; 3] {
        &self.modes
    }

    /// Physical velocities u_c (n³ each, `[x][y][z]` order).
    pub fn velocity(&self) -> [Vec<f64>; 3] {
        self.modes.clone().map(|mut a| {
            self.fft.inverse(&mut a);
            a.into_iter().map(|v| v.re).collect()
        })
    }

    /// Mean kinetic energy ½⟨|u|²⟩.
    pub fn energy(&self) -> f64 {
        let n3 = self.fft.len() as f64;
        0.5 * self
            .modes
            .iter()
            .flat_map(|c| c.iter())
            .map(Complex64::norm_sqr)
            .sum::<f64>()
            / (n3 * n3)
    }

    /// Dissipation rate 2ν⟨|S|²⟩ = ν Σ |k|²|û|²/n⁶ (homogeneous flow).
    pub fn dissipation(&self) -> f64 {
        let n3 = self.fft.len() as f64;
        self.viscosity
            * self
                .modes
                .iter()
                .map(|c| {
                    c.iter()
                        .zip(&self.k2)
                        .map(|(v, k2)| k2 * v.norm_sqr())
                        .sum::<f64>()
                })
                .sum::<f64>()
            / (n3 * n3)
    }

    /// Largest |k·û| over modes relative to max |k||û|: 0 for a solenoidal field.
    pub fn divergence(&self) -> f64 {
        let (mut worst, mut scale) = (0.0f64, 0.0f64);
        for m in 0..self.fft.len() {
            let k = self.fft.wavevector(m);
            let dot: Complex64 = (0..3).map(|c| self.modes[c][m] * k[c]).sum();
            let size: f64 = (0..3)
                .map(|c| self.modes[c][m].norm_sqr())
                .sum::<f64>()
                .sqrt();
            worst = worst.max(dot.norm());
            scale = scale.max(size * self.k2[m].sqrt());
        }
        if scale > 0.0 { worst / scale } else { 0.0 }
    }

    /// Shell spectrum E(k), k = 0, …, n/2.
    pub fn spectrum(&self) -> Vec<f64> {
        self.fft.shell_spectrum(&self.modes)
    }

    /// (integral scale L = π/(2u′²) Σ E(k)/k, u′ = √(2E/3)), the large eddies' size and speed.
    pub fn integral_scale(&self) -> (f64, f64) {
        let e = self.spectrum();
        let u2 = 2.0 * e.iter().sum::<f64>() / 3.0;
        let l = std::f64::consts::FRAC_PI_2 / u2
            * e.iter()
                .enumerate()
                .skip(1)
                .map(|(k, e)| e / k as f64)
                .sum::<f64>();
        (l, u2.sqrt())
    }

    /// The largest stable step at Courant number `cfl`: cfl·dx / max_c max|u_c|.
    pub fn stable_step(&self, cfl: f64) -> f64 {
        let u = self.velocity();
        let peak = u
            .iter()
            .flat_map(|c| c.iter())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        cfl * std::f64::consts::TAU / self.fft.n() as f64 / peak.max(1e-12)
    }

    /// Projects onto divergence-free modes and applies the 2/3 rule, in place.
    fn project(&self, modes: &mut [Vec<Complex64>; 3]) {
        for m in 0..self.fft.len() {
            if !self.kept[m] || self.k2[m] == 0.0 {
                for c in modes.iter_mut() {
                    c[m] = Complex64::default();
                }
                continue;
            }
            let k = self.fft.wavevector(m);
            let dot: Complex64 = (0..3).map(|c| modes[c][m] * k[c]).sum::<Complex64>() / self.k2[m];
            for c in 0..3 {
                modes[c][m] -= dot * k[c];
            }
        }
    }

    /// The right-hand side without the viscous term: P·F[u × ω] + f̂.
    fn rhs(&self, modes: &[Vec<Complex64>; 3]) -> [Vec<Complex64>; 3] {
        let len = self.fft.len();
        let physical = |mut a: Vec<Complex64>| {
            self.fft.inverse(&mut a);
            a
        };
        let u = modes.clone().map(physical);
        let i = Complex64::i();
        let vorticity: [Vec<Complex64>; 3] = std::array::from_fn(|c| {
            let (a, b) = ((c + 1) % 3, (c + 2) % 3);
            let w = (0..len)
                .map(|m| {
                    let k = self.fft.wavevector(m);
                    i * (modes[b][m] * k[a] - modes[a][m] * k[b])
                })
                .collect();
            physical(w)
        });
        let mut cross: [Vec<Complex64>; 3] = std::array::from_fn(|c| {
            let (a, b) = ((c + 1) % 3, (c + 2) % 3);
            let mut w: Vec<Complex64> = (0..len)
                .map(|m| {
                    Complex64::new(
                        u[a][m].re * vorticity[b][m].re - u[b][m].re * vorticity[a][m].re,
                        0.0,
                    )
                })
                .collect();
            self.fft.forward(&mut w);
            w
        });
        self.project(&mut cross);
        if self.injection > 0.0 {
            let n3 = len as f64;
            let band_energy = 0.5
                * self
                    .band
                    .iter()
                    .map(|&m| (0..3).map(|c| modes[c][m].norm_sqr()).sum::<f64>())
                    .sum::<f64>()
                / (n3 * n3);
            if band_energy > 0.0 {
                let gain = self.injection / (2.0 * band_energy);
                for &m in &self.band {
                    for c in 0..3 {
                        cross[c][m] += modes[c][m] * gain;
                    }
                }
            }
        }
        cross
    }

    /// One Heun step of size `dt` with the viscous integrating factor e^{−ν|k|²dt}:
    /// û₁ = E(û + dt·N(û)), û ← Eû + dt/2·(E·N(û) + N(û₁)).
    pub fn step(&mut self, dt: f64) {
        let decay: Vec<f64> = self
            .k2
            .iter()
            .map(|k2| (-self.viscosity * k2 * dt).exp())
            .collect();
        let n0 = self.rhs(&self.modes);
        let mid: [Vec<Complex64>; 3] = std::array::from_fn(|c| {
            (0..decay.len())
                .map(|m| decay[m] * (self.modes[c][m] + dt * n0[c][m]))
                .collect()
        });
        let n1 = self.rhs(&mid);
        for c in 0..3 {
            for m in 0..decay.len() {
                self.modes[c][m] =
                    decay[m] * self.modes[c][m] + 0.5 * dt * (decay[m] * n0[c][m] + n1[c][m]);
            }
        }
        self.time += dt;
    }

    /// Advances by `duration` in equal steps no longer than the stable step at `cfl`; returns
    /// the number of steps, or an error when the flow blew up.
    pub fn advance(&mut self, duration: f64, cfl: f64) -> Result<usize, SimError> {
        if duration <= 0.0 {
            return Ok(0);
        }
        let steps = (duration / self.stable_step(cfl)).ceil().max(1.0) as usize;
        let dt = duration / steps as f64;
        for s in 0..steps {
            self.step(dt);
            if !self.energy().is_finite() {
                return Err(SimError::NonFinite {
                    step: s,
                    particle: 0,
                });
            }
        }
        Ok(steps)
    }
}

/// Snapshots of a forced run: velocity fields in f32, `[c][x][y][z]` flattened, with the
/// statistics of the stationary state.
#[derive(Debug, Clone)]
pub struct TurbulenceRun {
    /// Snapshot velocities, 3n³ values each.
    pub snapshots: Vec<Vec<f32>>,
    /// Time of each snapshot.
    pub times: Vec<f64>,
    /// Kinetic energy at each snapshot.
    pub energies: Vec<f64>,
    /// Dissipation rate at each snapshot.
    pub dissipations: Vec<f64>,
    /// Large-eddy turnover time L/u′ at the end of spin-up.
    pub turnover: f64,
    /// Taylor-scale Reynolds number √(20/3)·E/√(νε) averaged over snapshots.
    pub reynolds_lambda: f64,
    /// ν.
    pub viscosity: f64,
}

/// Spins a random field up for `spin_up`, then records `snapshots` fields `snapshot_turnovers`
/// large-eddy times apart. `progress(done, total)` is called after each snapshot.
pub fn forced_run(
    recipe: &TurbulenceRecipe,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<TurbulenceRun, SimError> {
    let mut flow = Turbulence::random(recipe, seed)?;
    flow.advance(recipe.spin_up, recipe.cfl)?;
    let (l, u) = flow.integral_scale();
    let turnover = l / u;
    let interval = recipe.snapshot_turnovers * turnover;
    let mut run = TurbulenceRun {
        snapshots: Vec::with_capacity(recipe.snapshots),
        times: Vec::new(),
        energies: Vec::new(),
        dissipations: Vec::new(),
        turnover,
        reynolds_lambda: 0.0,
        viscosity: flow.viscosity,
    };
    for s in 0..recipe.snapshots {
        if s > 0 {
            flow.advance(interval, recipe.cfl)?;
        }
        run.snapshots.push(
            flow.velocity()
                .iter()
                .flatten()
                .map(|&v| v as f32)
                .collect(),
        );
        run.times.push(flow.time);
        run.energies.push(flow.energy());
        run.dissipations.push(flow.dissipation());
        progress(s + 1, recipe.snapshots);
    }
    let count = run.energies.len().max(1) as f64;
    run.reynolds_lambda = run
        .energies
        .iter()
        .zip(&run.dissipations)
        .map(|(e, d)| (20.0f64 / 3.0).sqrt() * e / (flow.viscosity * d).sqrt())
        .sum::<f64>()
        / count;
    Ok(run)
}
