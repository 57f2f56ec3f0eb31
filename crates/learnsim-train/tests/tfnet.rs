//! The kolmogorov-2d metrics on fields whose answers are known.

use learnsim_sim::spectral::Fft2;
use learnsim_train::tfnet::{energy_spectrum_2d, log_spectral_distance, mean_abs_divergence, rmse};
use std::f64::consts::TAU;

fn frame(n: usize, u: impl Fn(f64, f64) -> f64, v: impl Fn(f64, f64) -> f64) -> Vec<f32> {
    let h = TAU / n as f64;
    let at = |p: usize| ((p / n) as f64 * h, (p % n) as f64 * h);
    (0..n * n)
        .map(|p| u(at(p).0, at(p).1) as f32)
        .chain((0..n * n).map(|p| v(at(p).0, at(p).1) as f32))
        .collect()
}

/// A single Fourier mode: u = cos(3y) has E = ½⟨u²⟩ = ¼, all in shell 3 (Parseval), and is
/// divergence-free (∂u/∂x = 0). A compressible field u = sin x has central-difference
/// divergence cos x·sin(h)/h, whose mean modulus is (2/π)·sin(h)/h (f32: ±1e-6).
#[test]
fn spectrum_and_divergence_of_single_modes() {
    let n = 32;
    let fft = Fft2::new(n);
    let shear = frame(n, |_, y| (3.0 * y).cos(), |_, _| 0.0);
    let e = energy_spectrum_2d(&shear, &fft);
    assert!((e[3] - 0.25).abs() < 1e-6, "E(3) = {}", e[3]);
    assert!(e.iter().enumerate().all(|(k, v)| k == 3 || v.abs() < 1e-12));
    assert!(mean_abs_divergence(&shear, n) < 1e-6);
    let h = TAU / n as f64;
    let compressible = frame(n, |x, _| x.sin(), |_, _| 0.0);
    let expected = 2.0 / std::f64::consts::PI * h.sin() / h;
    let got = mean_abs_divergence(&compressible, n);
    assert!(
        (got - expected).abs() < 1e-2 * expected,
        "{got} vs {expected}"
    );
    assert_eq!(rmse(&shear, &shear), 0.0);
    assert_eq!(log_spectral_distance(&e, &e, 10), 0.0);
    // A spectrum ten times higher in every shell is one decade away.
    let high: Vec<f64> = e.iter().map(|v| 10.0 * v).collect();
    assert!((log_spectral_distance(&high, &e, 10) - 1.0).abs() < 1e-12);
}
