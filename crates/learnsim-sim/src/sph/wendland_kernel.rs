//! The Wendland C2 kernel in 2D (Wendland 1995; Dehnen & Aly 2012), support radius 2h.

use std::f64::consts::PI;

/// W(r, h) = 7/(4πh²) · (1 − q/2)⁴ (2q + 1), q = r/h ≤ 2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WendlandC2 {
    /// Smoothing length h.
    pub h: f64,
}

impl WendlandC2 {
    /// Support radius 2h: the neighbour-search radius.
    pub fn support(&self) -> f64 {
        2.0 * self.h
    }

    fn norm(&self) -> f64 {
        7.0 / (4.0 * PI * self.h * self.h)
    }

    /// W(r).
    pub fn value(&self, r: f64) -> f64 {
        let q = r / self.h;
        if q >= 2.0 {
            return 0.0;
        }
        self.norm() * (1.0 - 0.5 * q).powi(4) * (2.0 * q + 1.0)
    }

    /// dW/dr = 7/(4πh²) · (−5q (1 − q/2)³) / h.
    pub fn derivative(&self, r: f64) -> f64 {
        let q = r / self.h;
        if q >= 2.0 {
            return 0.0;
        }
        self.norm() * (-5.0 * q * (1.0 - 0.5 * q).powi(3)) / self.h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_integrates_to_one_and_derivative_matches_finite_differences() {
        let kernel = WendlandC2 { h: 0.05 };
        // Midpoint rule in polar coordinates, ∫ W 2πr dr over [0, 2h]; 20k intervals of a smooth
        // quartic-like integrand leave an error far below 1e-6.
        let n = 20_000;
        let dr = kernel.support() / n as f64;
        let integral: f64 = (0..n)
            .map(|k| {
                let r = (k as f64 + 0.5) * dr;
                kernel.value(r) * 2.0 * PI * r * dr
            })
            .sum();
        assert!((integral - 1.0).abs() < 1e-6, "∫W = {integral}");
        for r in [0.01, 0.03, 0.07, 0.099] {
            let eps = 1e-7;
            let fd = (kernel.value(r + eps) - kernel.value(r - eps)) / (2.0 * eps);
            // Central difference error ~ eps² W''' ≈ 1e-14 · 1e6; relative 1e-6 is ample.
            assert!((fd - kernel.derivative(r)).abs() < 1e-6 * fd.abs().max(1.0));
        }
        assert_eq!(kernel.value(0.1), 0.0);
    }
}
