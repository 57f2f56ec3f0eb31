//! 2D FFT of an n² complex grid stored row-major as `[x][y]` (y fastest).

use num_complex::Complex64;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Forward and inverse 2D transforms of one grid size, with the conventions of
/// [`super::Fft3`]: forward unnormalised, inverse divided by n².
#[derive(Clone)]
pub struct Fft2 {
    n: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for Fft2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2").field("n", &self.n).finish()
    }
}

impl Fft2 {
    /// Plans the transforms of an n² grid.
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

    /// Points in the grid, n².
    pub fn len(&self) -> usize {
        self.n * self.n
    }

    /// Whether the grid is empty (n = 0).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Integer wavenumber of index `i` along one axis: 0, 1, …, n/2, −n/2 + 1, …, −1.
    pub fn wavenumber(&self, i: usize) -> f64 {
        super::wavenumber(i, self.n)
    }

    /// The wavevector (k_x, k_y) of flat index `m`.
    pub fn wavevector(&self, m: usize) -> [f64; 2] {
        [self.wavenumber(m / self.n), self.wavenumber(m % self.n)]
    }

    /// Whether mode `m` survives the 2/3 rule (|k_x|, |k_y| < n/3).
    pub fn kept(&self, m: usize) -> bool {
        let limit = self.n as f64 / 3.0;
        self.wavevector(m).iter().all(|k| k.abs() < limit)
    }

    /// In-place forward transform.
    pub fn forward(&self, a: &mut [Complex64]) {
        self.transform(a, &self.forward);
    }

    /// In-place inverse transform, normalised by 1/n².
    pub fn inverse(&self, a: &mut [Complex64]) {
        self.transform(a, &self.inverse);
        let scale = 1.0 / self.len() as f64;
        a.iter_mut().for_each(|v| *v *= scale);
    }

    fn transform(&self, a: &mut [Complex64], fft: &Arc<dyn Fft<f64>>) {
        let n = self.n;
        assert_eq!(
            a.len(),
            self.len(),
            "Fft2: grid of {} values, not n²",
            a.len()
        );
        // y: rows are contiguous.
        fft.process(a);
        // x: columns, transposed through a buffer.
        let mut t = vec![Complex64::default(); self.len()];
        t.par_chunks_mut(n).enumerate().for_each(|(j, column)| {
            for (i, v) in column.iter_mut().enumerate() {
                *v = a[i * n + j];
            }
        });
        fft.process(&mut t);
        for j in 0..n {
            for i in 0..n {
                a[i * n + j] = t[j * n + i];
            }
        }
    }
}
