//! The 2D viscous Burgers equation solved as the PDE itself: Fourier derivatives on the
//! periodic square, the advection product dealiased by the 2/3 rule, and Lawson's
//! integrating-factor RK4 (the viscous term integrated exactly, e^{−νk²t} per mode).
//!
//! This is what PDE-Net 2.0 did for its data (an accurate solver on a fine grid, sampled on the
//! model grid), and what `scripts/burgers_oracle.py` measured the upwind data against.

use super::Velocity2;
use crate::spectral::Fft2;
use num_complex::Complex64;

/// The velocity's Fourier modes on an m² grid, and the operators that advance them.
#[derive(Debug, Clone)]
pub struct SpectralBurgers {
    fft: Fft2,
    viscosity: f64,
    advection: bool,
    /// Modes of u and v, flat `[x][y]`, unnormalised (forward transform of the point values).
    modes: [Vec<Complex64>; 2],
    /// k_x, k_y and |k|² of each flat index.
    k: Vec<[f64; 2]>,
    k2: Vec<f64>,
    /// The 2/3 rule's mask.
    kept: Vec<bool>,
    /// The integrating factor e^{−νk²·dt/2} of the last step size used, and that step.
    half: Vec<f64>,
    half_dt: f64,
}

impl SpectralBurgers {
    /// Starts from the point values of `state` (its grid is the solver's grid).
    pub fn new(state: &Velocity2, viscosity: f64, advection: bool) -> Self {
        let fft = Fft2::new(state.m);
        let modes = [&state.u, &state.v].map(|f| {
            let mut a: Vec<Complex64> = f.iter().map(|&x| Complex64::new(x, 0.0)).collect();
            fft.forward(&mut a);
            a
        });
        let k: Vec<[f64; 2]> = (0..fft.len()).map(|m| fft.wavevector(m)).collect();
        let k2 = k.iter().map(|[a, b]| a * a + b * b).collect();
        let kept = (0..fft.len()).map(|m| fft.kept(m)).collect();
        Self {
            fft,
            viscosity,
            advection,
            modes,
            k,
            k2,
            kept,
            half: Vec::new(),
            half_dt: f64::NAN,
        }
    }

    /// Points per side.
    pub fn m(&self) -> usize {
        self.fft.n()
    }

    fn physical(&self, modes: &[Complex64], derivative: Option<usize>) -> Vec<f64> {
        let i = Complex64::new(0.0, 1.0);
        let mut a: Vec<Complex64> = match derivative {
            None => modes.to_vec(),
            Some(axis) => modes
                .iter()
                .zip(&self.k)
                .map(|(&v, k)| i * k[axis] * v)
                .collect(),
        };
        self.fft.inverse(&mut a);
        a.into_iter().map(|v| v.re).collect()
    }

    /// −(u·∇)u per component in Fourier space, the product dealiased by the 2/3 rule.
    fn nonlinear(&self, modes: &[Vec<Complex64>; 2]) -> [Vec<Complex64>; 2] {
        if !self.advection {
            return [(); 2].map(|_| vec![Complex64::default(); self.fft.len()]);
        }
        let u = self.physical(&modes[0], None);
        let v = self.physical(&modes[1], None);
        std::array::from_fn(|c| {
            let dx = self.physical(&modes[c], Some(0));
            let dy = self.physical(&modes[c], Some(1));
            let mut product: Vec<Complex64> = (0..u.len())
                .map(|p| Complex64::new(-(u[p] * dx[p] + v[p] * dy[p]), 0.0))
                .collect();
            self.fft.forward(&mut product);
            product
                .iter_mut()
                .zip(&self.kept)
                .for_each(|(p, &keep)| *p = if keep { *p } else { Complex64::default() });
            product
        })
    }

    /// One Lawson IF-RK4 step of `dt`: with E = e^{−νk²dt/2} and N the advection term,
    /// k₁ = N(û), k₂ = N(E(û + dt/2·k₁)), k₃ = N(Eû + dt/2·k₂), k₄ = N(E²û + dt·E·k₃),
    /// û ← E²û + dt/6·(E²k₁ + 2E(k₂ + k₃) + k₄). Exact for the heat equation; fourth order
    /// in dt for the advection.
    pub fn step(&mut self, dt: f64) {
        if self.half_dt != dt {
            self.half = self
                .k2
                .iter()
                .map(|k2| (-self.viscosity * k2 * dt / 2.0).exp())
                .collect();
            self.half_dt = dt;
        }
        let e = &self.half;
        let w = &self.modes;
        let combine = |f: &dyn Fn(usize, usize) -> Complex64| -> [Vec<Complex64>; 2] {
            std::array::from_fn(|c| (0..e.len()).map(|m| f(c, m)).collect())
        };
        let k1 = self.nonlinear(w);
        let a = combine(&|c, m| e[m] * (w[c][m] + 0.5 * dt * k1[c][m]));
        let k2 = self.nonlinear(&a);
        let b = combine(&|c, m| e[m] * w[c][m] + 0.5 * dt * k2[c][m]);
        let k3 = self.nonlinear(&b);
        let d = combine(&|c, m| e[m] * e[m] * w[c][m] + dt * e[m] * k3[c][m]);
        let k4 = self.nonlinear(&d);
        let next = combine(&|c, m| {
            let e2 = e[m] * e[m];
            e2 * w[c][m]
                + dt / 6.0 * (e2 * k1[c][m] + 2.0 * e[m] * (k2[c][m] + k3[c][m]) + k4[c][m])
        });
        self.modes = next;
    }

    /// The point values (u, v) on the solver's grid.
    pub fn velocity(&self) -> Velocity2 {
        Velocity2 {
            m: self.m(),
            u: self.physical(&self.modes[0], None),
            v: self.physical(&self.modes[1], None),
        }
    }

    /// Whether every mode is finite.
    pub fn is_finite(&self) -> bool {
        self.modes
            .iter()
            .flatten()
            .all(|v| v.re.is_finite() && v.im.is_finite())
    }
}
