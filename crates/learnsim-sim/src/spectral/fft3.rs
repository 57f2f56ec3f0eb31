//! 3D FFT of an n³ complex grid stored row-major as `[x][y][z]` (z fastest).

use num_complex::Complex64;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Forward and inverse 3D transforms of one grid size.
///
/// Forward is unnormalised, û(k) = Σ_x u(x) e^{−ik·x}; inverse divides by n³, so
/// `inverse(forward(u)) = u` and Parseval reads Σ|u|² = Σ|û|² / n³.
#[derive(Clone)]
pub struct Fft3 {
    n: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for Fft3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft3").field("n", &self.n).finish()
    }
}

impl Fft3 {
    /// Plans the transforms of an n³ grid.
    pub fn new(n: usize) -> Self {
        let mut planner = FftPlanner::new();
        Self {
            n,
            forward: planner.plan_fft_forward(n),
            inverse: planner.plan_fft_inverse(n),
        }
    }

    /// Points per side.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Points in the grid, n³.
    pub fn len(&self) -> usize {
        self.n * self.n * self.n
    }

    /// Whether the grid is empty (n = 0).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Flat index of grid point or mode (i, j, l).
    pub fn index(&self, i: usize, j: usize, l: usize) -> usize {
        (i * self.n + j) * self.n + l
    }

    /// Integer wavenumber of index `i` along one axis: 0, 1, …, n/2, −n/2 + 1, …, −1.
    pub fn wavenumber(&self, i: usize) -> f64 {
        super::wavenumber(i, self.n)
    }

    /// The wavevector of flat index `m`.
    pub fn wavevector(&self, m: usize) -> [f64; 3] {
        let n = self.n;
        [
            self.wavenumber(m / (n * n)),
            self.wavenumber((m / n) % n),
            self.wavenumber(m % n),
        ]
    }

    /// Whether mode `m` survives the 2/3 rule (every |k_i| < n/3), which removes the aliases
    /// of quadratic products exactly.
    pub fn kept(&self, m: usize) -> bool {
        let limit = self.n as f64 / 3.0;
        self.wavevector(m).iter().all(|k| k.abs() < limit)
    }

    /// In-place forward transform.
    pub fn forward(&self, a: &mut [Complex64]) {
        self.transform(a, &self.forward);
    }

    /// In-place inverse transform, normalised by 1/n³.
    pub fn inverse(&self, a: &mut [Complex64]) {
        self.transform(a, &self.inverse);
        let scale = 1.0 / self.len() as f64;
        a.par_iter_mut().for_each(|v| *v *= scale);
    }

    fn transform(&self, a: &mut [Complex64], fft: &Arc<dyn Fft<f64>>) {
        let n = self.n;
        assert_eq!(
            a.len(),
            self.len(),
            "Fft3: grid of {} values, not n³",
            a.len()
        );
        // z: rows are contiguous.
        a.par_chunks_mut(n * n).for_each(|rows| fft.process(rows));
        // y: within each x-slab, lines of stride n.
        a.par_chunks_mut(n * n).for_each(|slab| {
            let mut line = vec![Complex64::default(); n * n];
            for l in 0..n {
                for j in 0..n {
                    line[l * n + j] = slab[j * n + l];
                }
            }
            fft.process(&mut line);
            for l in 0..n {
                for j in 0..n {
                    slab[j * n + l] = line[l * n + j];
                }
            }
        });
        // x: lines of stride n², gathered per y index.
        let mut lines = vec![Complex64::default(); self.len()];
        lines
            .par_chunks_mut(n * n)
            .enumerate()
            .for_each(|(j, block)| {
                for l in 0..n {
                    for i in 0..n {
                        block[l * n + i] = a[(i * n + j) * n + l];
                    }
                }
                fft.process(block);
            });
        for j in 0..n {
            for l in 0..n {
                for i in 0..n {
                    a[(i * n + j) * n + l] = lines[(j * n + l) * n + i];
                }
            }
        }
    }

    /// Shell spectrum of a 3-component field given by its transforms `modes[c]`:
    /// E(k) = Σ_{round|k| = k} ½|û|²/n⁶, for k = 0, …, n/2. Σ_k E(k) is the mean kinetic
    /// energy ½⟨|u|²⟩ when no mode lies beyond the last shell.
    pub fn shell_spectrum(&self, modes: &[Vec<Complex64>; 3]) -> Vec<f64> {
        let mut e = vec![0.0; self.n / 2 + 1];
        let norm = 1.0 / (self.len() as f64 * self.len() as f64);
        for m in 0..self.len() {
            let k = self.wavevector(m);
            let shell = (k[0] * k[0] + k[1] * k[1] + k[2] * k[2]).sqrt().round() as usize;
            if shell < e.len() {
                e[shell] += 0.5 * norm * modes.iter().map(|c| c[m].norm_sqr()).sum::<f64>();
            }
        }
        e
    }

    /// Shell spectrum of a real 3-component field `u[c]` (physical values).
    pub fn spectrum_of(&self, u: &[Vec<f64>; 3]) -> Vec<f64> {
        let modes = u.clone().map(|c| {
            let mut a: Vec<Complex64> = c.iter().map(|&v| Complex64::new(v, 0.0)).collect();
            self.forward(&mut a);
            a
        });
        self.shell_spectrum(&modes)
    }
}
