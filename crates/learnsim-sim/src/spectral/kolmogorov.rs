//! Forced 2D turbulence (the TF-Net case, cases.md [9]): incompressible Navier–Stokes in
//! vorticity form on [0, 2π)², periodic,
//!
//!   ∂ω/∂t + u·∇ω = ν∇²ω − αω + F·cos(k_f y),
//!
//! pseudo-spectral with the 2/3 rule on the product, and Lawson's integrating-factor RK4 with
//! the linear part −(ν|k|² + α) integrated exactly. The stream function ψ̂ = ω̂/|k|² gives
//! u = ∂ψ/∂y, v = −∂ψ/∂x (so ω = ∂v/∂x − ∂u/∂y).

use super::Fft2;
use crate::SimError;
use num_complex::Complex64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The `[flow]` table of the Kolmogorov case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KolmogorovRecipe {
    /// Grid points per side.
    pub n: usize,
    /// Kinematic viscosity ν.
    pub viscosity: f64,
    /// Linear drag α.
    pub drag: f64,
    /// Forcing amplitude F.
    pub forcing: f64,
    /// Forcing wavenumber k_f (along y).
    pub forcing_wavenumber: usize,
    /// Time step.
    pub dt: f64,
    /// Time before the first recorded frame.
    pub spin_up: f64,
    /// Steps between recorded frames.
    pub frame_steps: usize,
    /// Frames recorded per run.
    pub frames: usize,
    /// rms vorticity of the random initial field (modes 1 ≤ |k| ≤ 8).
    pub initial_vorticity: f64,
}

impl KolmogorovRecipe {
    /// The CPU tier of cases.md: 64², k_f = 4, F = 1, ν = 1e-3, α = 0.1, dt = 0.01, spin-up
    /// to t = 100, frames every 0.1, 600 frames.
    pub fn standard() -> Self {
        Self {
            n: 64,
            viscosity: 1e-3,
            drag: 0.1,
            forcing: 1.0,
            forcing_wavenumber: 4,
            dt: 0.01,
            spin_up: 100.0,
            frame_steps: 10,
            frames: 600,
            initial_vorticity: 1.0,
        }
    }

    /// Checks the recipe.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |what: String| Err(SimError::Scene(format!("kolmogorov recipe: {what}")));
        if !(8..=1024).contains(&self.n) || !self.n.is_multiple_of(2) {
            return bad(format!("n = {} (an even size in 8..=1024)", self.n));
        }
        for (name, v) in [
            ("viscosity", self.viscosity),
            ("drag", self.drag),
            ("forcing", self.forcing),
            ("spin_up", self.spin_up),
            ("initial_vorticity", self.initial_vorticity),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} = {v} (must be finite and ≥ 0)"));
            }
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return bad(format!("dt = {}", self.dt));
        }
        if self.forcing_wavenumber == 0 || 3 * self.forcing_wavenumber >= self.n {
            return bad(format!(
                "forcing_wavenumber = {} (1 ≤ k_f < n/3)",
                self.forcing_wavenumber
            ));
        }
        if self.frame_steps == 0 || self.frames == 0 {
            return bad("frame_steps and frames must be positive".into());
        }
        Ok(())
    }
}

/// A flow state: the vorticity's modes and the operators of its grid.
#[derive(Debug, Clone)]
pub struct Kolmogorov {
    fft: Fft2,
    /// ω̂.
    modes: Vec<Complex64>,
    /// The forcing's modes.
    forcing: Vec<Complex64>,
    /// |k|² per mode.
    k2: Vec<f64>,
    kept: Vec<bool>,
    dt: f64,
    /// exp(linear·dt/2) per mode.
    half: Vec<f64>,
    time: f64,
}

impl Kolmogorov {
    /// A state from a physical vorticity field (n² values, `[x][y]`), with the recipe's
    /// operators.
    pub fn from_vorticity(recipe: &KolmogorovRecipe, omega: &[f64]) -> Result<Self, SimError> {
        recipe.check()?;
        let n = recipe.n;
        if omega.len() != n * n {
            return Err(SimError::Scene(format!(
                "kolmogorov: vorticity of {} values, expected {n}²",
                omega.len()
            )));
        }
        let fft = Fft2::new(n);
        let mut modes: Vec<Complex64> = omega.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        fft.forward(&mut modes);
        let h = std::f64::consts::TAU / n as f64;
        let mut forcing: Vec<Complex64> = (0..n * n)
            .map(|p| {
                let y = (p % n) as f64 * h;
                Complex64::new(
                    recipe.forcing * (recipe.forcing_wavenumber as f64 * y).cos(),
                    0.0,
                )
            })
            .collect();
        fft.forward(&mut forcing);
        let k2: Vec<f64> = (0..fft.len())
            .map(|m| fft.wavevector(m).iter().map(|k| k * k).sum())
            .collect();
        // exp(L·dt/2) with the linear rate L = −(ν|k|² + α).
        let half = k2
            .iter()
            .map(|k| (-0.5 * (recipe.viscosity * k + recipe.drag) * recipe.dt).exp())
            .collect();
        let kept = (0..fft.len()).map(|m| fft.kept(m)).collect();
        // The mean vorticity is a constant of the motion only without drag; keep it at 0.
        modes[0] = Complex64::default();
        Ok(Self {
            fft,
            modes,
            forcing,
            k2,
            kept,
            dt: recipe.dt,
            half,
            time: 0.0,
        })
    }

    /// The recipe's random initial field: Gaussian noise on 1 ≤ |k| ≤ 8, scaled to the
    /// initial rms vorticity.
    pub fn random(recipe: &KolmogorovRecipe, seed: u64) -> Result<Self, SimError> {
        recipe.check()?;
        let n = recipe.n;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise: Vec<f64> = (0..n * n)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let mut state = Self::from_vorticity(recipe, &noise)?;
        for (m, v) in state.modes.iter_mut().enumerate() {
            if !(1.0..=64.0).contains(&state.k2[m]) {
                *v = Complex64::default();
            }
        }
        let rms = state.vorticity().iter().map(|w| w * w).sum::<f64>() / (n * n) as f64;
        let scale = recipe.initial_vorticity / rms.sqrt().max(1e-300);
        state.modes.iter_mut().for_each(|v| *v *= scale);
        Ok(state)
    }

    /// Simulated time.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// The right-hand side without the linear part: −u·∇ω (2/3 rule) + f.
    fn nonlinear(&self, w: &[Complex64]) -> Vec<Complex64> {
        let n = self.fft.n();
        let spectral = |f: &dyn Fn(usize, Complex64) -> Complex64| {
            let mut a: Vec<Complex64> = w.iter().enumerate().map(|(m, &v)| f(m, v)).collect();
            self.fft.inverse(&mut a);
            a
        };
        let psi = |m: usize, v: Complex64| {
            if self.k2[m] == 0.0 {
                Complex64::default()
            } else {
                v / self.k2[m]
            }
        };
        let i = Complex64::new(0.0, 1.0);
        let k = |m: usize| self.fft.wavevector(m);
        let u = spectral(&|m, v| i * k(m)[1] * psi(m, v));
        let vv = spectral(&|m, v| -i * k(m)[0] * psi(m, v));
        let wx = spectral(&|m, v| i * k(m)[0] * v);
        let wy = spectral(&|m, v| i * k(m)[1] * v);
        let mut product: Vec<Complex64> = (0..n * n)
            .map(|p| Complex64::new(-(u[p].re * wx[p].re + vv[p].re * wy[p].re), 0.0))
            .collect();
        self.fft.forward(&mut product);
        product
            .iter()
            .zip(&self.forcing)
            .zip(&self.kept)
            .map(|((p, f), &keep)| if keep { p + f } else { *f })
            .collect()
    }

    /// One Lawson IF-RK4 step: with E = exp(L·dt/2),
    /// k₁ = N(ω), k₂ = N(E(ω + dt/2·k₁)), k₃ = N(Eω + dt/2·k₂), k₄ = N(E²ω + dt·E·k₃),
    /// ω ← E²ω + dt/6·(E²k₁ + 2E(k₂ + k₃) + k₄).
    pub fn step(&mut self) {
        let dt = self.dt;
        let e = &self.half;
        let w = &self.modes;
        let k1 = self.nonlinear(w);
        let a: Vec<Complex64> = (0..w.len())
            .map(|m| e[m] * (w[m] + 0.5 * dt * k1[m]))
            .collect();
        let k2 = self.nonlinear(&a);
        let b: Vec<Complex64> = (0..w.len())
            .map(|m| e[m] * w[m] + 0.5 * dt * k2[m])
            .collect();
        let k3 = self.nonlinear(&b);
        let c: Vec<Complex64> = (0..w.len())
            .map(|m| e[m] * e[m] * w[m] + dt * e[m] * k3[m])
            .collect();
        let k4 = self.nonlinear(&c);
        let next: Vec<Complex64> = (0..w.len())
            .map(|m| {
                let e2 = e[m] * e[m];
                e2 * w[m] + dt / 6.0 * (e2 * k1[m] + 2.0 * e[m] * (k2[m] + k3[m]) + k4[m])
            })
            .collect();
        self.modes = next;
        self.time += dt;
    }

    /// The vorticity in physical space (n² values).
    pub fn vorticity(&self) -> Vec<f64> {
        let mut a = self.modes.clone();
        self.fft.inverse(&mut a);
        a.into_iter().map(|v| v.re).collect()
    }

    /// The velocity (u, v) in physical space.
    pub fn velocity(&self) -> [Vec<f64>; 2] {
        let i = Complex64::new(0.0, 1.0);
        std::array::from_fn(|c| {
            let mut a: Vec<Complex64> = self
                .modes
                .iter()
                .enumerate()
                .map(|(m, &v)| {
                    if self.k2[m] == 0.0 {
                        return Complex64::default();
                    }
                    let k = self.fft.wavevector(m);
                    let psi = v / self.k2[m];
                    if c == 0 {
                        i * k[1] * psi
                    } else {
                        -i * k[0] * psi
                    }
                })
                .collect();
            self.fft.inverse(&mut a);
            a.into_iter().map(|v| v.re).collect()
        })
    }

    /// Whether every mode is finite.
    pub fn is_finite(&self) -> bool {
        self.modes
            .iter()
            .all(|v| v.re.is_finite() && v.im.is_finite())
    }
}

/// A recorded run: velocity frames `[frame][c][x][y]` as f32 (2n² values each).
#[derive(Debug, Clone)]
pub struct KolmogorovRun {
    /// The frames.
    pub frames: Vec<Vec<f32>>,
    /// Time of each frame.
    pub times: Vec<f64>,
    /// Mean kinetic energy over the recorded frames.
    pub mean_energy: f64,
}

/// Spins a random field up for `spin_up`, then records `frames` velocity fields every
/// `frame_steps` steps, calling `progress(frames_done)`.
pub fn kolmogorov_run(
    recipe: &KolmogorovRecipe,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> Result<KolmogorovRun, SimError> {
    let mut flow = Kolmogorov::random(recipe, seed)?;
    let spin_steps = (recipe.spin_up / recipe.dt).round() as usize;
    let blown = |step: usize| SimError::NonFinite { step, particle: 0 };
    for s in 0..spin_steps {
        flow.step();
        if s % 100 == 99 && !flow.is_finite() {
            return Err(blown(s));
        }
    }
    let mut run = KolmogorovRun {
        frames: Vec::with_capacity(recipe.frames),
        times: Vec::with_capacity(recipe.frames),
        mean_energy: 0.0,
    };
    for f in 0..recipe.frames {
        if f > 0 {
            for _ in 0..recipe.frame_steps {
                flow.step();
            }
        }
        if !flow.is_finite() {
            return Err(blown(spin_steps + f * recipe.frame_steps));
        }
        let [u, v] = flow.velocity();
        run.mean_energy += 0.5 * u.iter().zip(&v).map(|(a, b)| a * a + b * b).sum::<f64>()
            / u.len() as f64
            / recipe.frames as f64;
        run.frames
            .push(u.iter().chain(&v).map(|&x| x as f32).collect());
        run.times.push(flow.time());
        progress(f + 1);
    }
    Ok(run)
}
