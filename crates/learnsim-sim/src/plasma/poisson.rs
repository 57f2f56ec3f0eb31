//! Field solvers of the 1D periodic electrostatic PIC: from the charge density ρ on the grid's
//! nodes to the electric field E on the same nodes, with Gauss's law dE/dx = ρ and E of zero
//! mean (a neutral periodic box).
//!
//! Both solvers here use the grid's Fourier modes k_m = 2πm/L, |m| < N/2; the mean (m = 0) and
//! the Nyquist mode carry no field. Both are antisymmetric operators (E_k = −i·g(k)·ρ_k with
//! g odd and real), so Σ_j ρ_j E_j = 0: the field exerts no net force on the plasma and the PIC
//! conserves momentum to round-off.

use crate::spectral::Fft2;
use num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Computes E from ρ on a periodic grid.
pub trait FieldSolver {
    /// Writes E on the nodes of a periodic grid of spacing `dx` into `e`.
    ///
    /// # Shapes
    /// - `rho`: `[cells^D]`, the charge density at the nodes (x the slowest index)
    /// - `e`: `[D × cells^D]`, overwritten, component-major
    fn solve(&mut self, rho: &[f64], dx: f64, e: &mut [f64]);
}

/// Which operator [`FourierPoisson`] inverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stencil {
    /// Exact derivatives of the grid's Fourier interpolant: E_k = −i ρ_k / k (the truth).
    Spectral,
    /// The second-order finite-difference pair: the 3-point Laplacian for φ and the centred
    /// difference E_j = −(φ_{j+1} − φ_{j−1}) / 2Δx, solved exactly (the periodic tridiagonal
    /// system is diagonal in Fourier space): E_k = −i ρ_k sin(kΔx)/Δx / K², K = 2 sin(kΔx/2)/Δx.
    FiniteDifference,
}

/// A Poisson solve by FFT (rustfft), spectral or with the finite-difference operator, on a
/// 1D ring or a 2D torus of `cells` nodes per axis.
pub struct FourierPoisson {
    stencil: Stencil,
    cells: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
    buffer: Vec<Complex64>,
    /// The 2D transform (None on a ring).
    plane: Option<Fft2>,
}

impl std::fmt::Debug for FourierPoisson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FourierPoisson")
            .field("stencil", &self.stencil)
            .field("cells", &self.cells)
            .finish_non_exhaustive()
    }
}

impl FourierPoisson {
    /// A solver for rings of `cells` nodes.
    pub fn new(cells: usize, stencil: Stencil) -> Self {
        Self::with_dimensions(cells, 1, stencil)
    }

    /// A solver for grids of `cells` nodes per axis in `dimensions` (1 or 2) dimensions.
    ///
    /// # Panics
    /// For other dimensions.
    pub fn with_dimensions(cells: usize, dimensions: usize, stencil: Stencil) -> Self {
        assert!(
            dimensions == 1 || dimensions == 2,
            "FourierPoisson: 1 or 2 dimensions, not {dimensions}"
        );
        let mut planner = FftPlanner::new();
        Self {
            stencil,
            cells,
            forward: planner.plan_fft_forward(cells),
            inverse: planner.plan_fft_inverse(cells),
            buffer: vec![Complex64::new(0.0, 0.0); cells.pow(dimensions as u32)],
            plane: (dimensions == 2).then(|| Fft2::new(cells)),
        }
    }

    /// The 2D solve: φ_k = ρ_k/K², E_c,k = −iκ_c φ_k, with K² = |k|², κ = k (spectral) or the
    /// finite-difference pair's K² = Σ_c (2 sin(k_cΔx/2)/Δx)², κ_c = sin(k_cΔx)/Δx; the mean
    /// and every mode with a Nyquist index carry no field.
    fn solve_plane(&mut self, rho: &[f64], dx: f64, e: &mut [f64]) {
        let n = self.cells;
        let nodes = n * n;
        let plane = self.plane.as_ref().expect("a 2D solver");
        for (b, &r) in self.buffer.iter_mut().zip(rho) {
            *b = Complex64::new(r, 0.0);
        }
        plane.forward(&mut self.buffer);
        let step = 2.0 * std::f64::consts::PI / (n as f64 * dx);
        let mut components = [self.buffer.clone(), self.buffer.clone()];
        for m in 0..nodes {
            let index = [m / n, m % n];
            let k = plane.wavevector(m).map(|w| w * step);
            let nyquist = index.iter().any(|&i| 2 * i == n);
            let (big_k2, kappa) = match self.stencil {
                Stencil::Spectral => (k[0] * k[0] + k[1] * k[1], k),
                Stencil::FiniteDifference => {
                    let s = k.map(|kc| 2.0 * (0.5 * kc * dx).sin() / dx);
                    (s[0] * s[0] + s[1] * s[1], k.map(|kc| (kc * dx).sin() / dx))
                }
            };
            for (c, component) in components.iter_mut().enumerate() {
                component[m] *= if m == 0 || nyquist {
                    Complex64::new(0.0, 0.0)
                } else {
                    Complex64::new(0.0, -kappa[c] / big_k2)
                };
            }
        }
        for (c, component) in components.iter_mut().enumerate() {
            plane.inverse(component);
            for (out, b) in e[c * nodes..(c + 1) * nodes]
                .iter_mut()
                .zip(component.iter())
            {
                *out = b.re;
            }
        }
    }

    /// The multiplier g(k) of E_k = −i g(k) ρ_k for mode `m` (0 for the mean and Nyquist).
    fn gain(&self, m: usize, dx: f64) -> f64 {
        let n = self.cells;
        if m == 0 || 2 * m == n {
            return 0.0;
        }
        let signed = if m < n / 2 + n % 2 {
            m as f64
        } else {
            m as f64 - n as f64
        };
        let k = 2.0 * std::f64::consts::PI * signed / (n as f64 * dx);
        match self.stencil {
            Stencil::Spectral => 1.0 / k,
            Stencil::FiniteDifference => {
                let big_k = 2.0 * (0.5 * k * dx).sin() / dx;
                (k * dx).sin() / dx / (big_k * big_k)
            }
        }
    }
}

impl FieldSolver for FourierPoisson {
    fn solve(&mut self, rho: &[f64], dx: f64, e: &mut [f64]) {
        if self.plane.is_some() {
            assert_eq!(
                rho.len(),
                self.cells * self.cells,
                "ρ has the solver's nodes"
            );
            return self.solve_plane(rho, dx, e);
        }
        assert_eq!(rho.len(), self.cells, "ρ has the solver's node count");
        for (b, &r) in self.buffer.iter_mut().zip(rho) {
            *b = Complex64::new(r, 0.0);
        }
        self.forward.process(&mut self.buffer);
        for m in 0..self.cells {
            let g = self.gain(m, dx);
            self.buffer[m] *= Complex64::new(0.0, -g);
        }
        self.inverse.process(&mut self.buffer);
        let scale = 1.0 / self.cells as f64;
        for (out, b) in e.iter_mut().zip(&self.buffer) {
            *out = b.re * scale;
        }
    }
}

/// The squared amplitude |E_m|² of the Fourier mode of wavevector (m, 0, …) of a grid field
/// with `cells` nodes per axis, x the slowest index (E = Σ E_m e^{ik_m x}): the field energy of
/// that mode per unit volume is |E_m|² (both ±m counted).
pub fn mode_power(field: &[f64], cells: usize, m: usize) -> f64 {
    let nodes = field.len() as f64;
    let per_x = field.len() / cells;
    let (mut re, mut im) = (0.0, 0.0);
    for (j, &f) in field.iter().enumerate() {
        let phase = 2.0 * std::f64::consts::PI * (m * (j / per_x)) as f64 / cells as f64;
        re += f * phase.cos();
        im -= f * phase.sin();
    }
    (re * re + im * im) / (nodes * nodes)
}
