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

/// The Fourier derivative is exact for every mode below Nyquist: a solenoidal field from the
/// stream function ψ = sin 3x·cos 5y + cos(7x + 2y) (u = ∂ψ/∂y, v = −∂ψ/∂x) has spectral
/// divergence 0 up to f32 round-off (|D| sums to O(n log n)·ε·|u| ≈ 1e-4 here; 1e-3 is the
/// bound), while central differences read sin(kh)/h for k per mode: their mean |div| of
/// this field is ≈ 2 on n = 32 (the (7, 2) mode alone gives |−2·sin 7h/h + 7·sin 2h/h|·2/π). A compressible field (sin x, sin 2y) has divergence
/// cos x + 2 cos 2y exactly. The tensor operator and the host metric agree.
#[test]
fn spectral_divergence_is_exact_below_nyquist() {
    use burn::tensor::{Tensor, TensorData};
    use learnsim_models::default_inference_device;
    use learnsim_train::tfnet::{
        fourier_derivative_matrix, mean_abs_spectral_divergence, spectral_divergence,
    };
    let n = 32;
    let fft = Fft2::new(n);
    let device = default_inference_device();
    let d = fourier_derivative_matrix(n, &device);
    let tensor =
        |f: &[f32]| Tensor::<4>::from_data(TensorData::new(f.to_vec(), [1, 2, n, n]), &device);
    let values = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().expect("f32");

    let solenoidal = frame(
        n,
        |x, y| -5.0 * (3.0 * x).sin() * (5.0 * y).sin() - 2.0 * (7.0 * x + 2.0 * y).sin(),
        |x, y| -3.0 * (3.0 * x).cos() * (5.0 * y).cos() + 7.0 * (7.0 * x + 2.0 * y).sin(),
    );
    let div = values(spectral_divergence(tensor(&solenoidal), &d));
    let worst = div.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        worst < 1e-3,
        "spectral divergence of a solenoidal field: {worst}"
    );
    assert!(mean_abs_spectral_divergence(&solenoidal, &fft) < 1e-5);
    assert!(mean_abs_divergence(&solenoidal, n) > 0.1);

    let compressible = frame(n, |x, _| x.sin(), |_, y| (2.0 * y).sin());
    let div = values(spectral_divergence(tensor(&compressible), &d));
    let h = TAU / n as f64;
    for (p, got) in div.iter().enumerate() {
        let (x, y) = ((p / n) as f64 * h, (p % n) as f64 * h);
        let expected = x.cos() + 2.0 * (2.0 * y).cos();
        assert!(
            (f64::from(*got) - expected).abs() < 1e-4,
            "at {p}: {got} vs {expected}"
        );
    }
    let host = mean_abs_spectral_divergence(&compressible, &fft);
    let tensor_mean = div.iter().map(|v| f64::from(v.abs())).sum::<f64>() / (n * n) as f64;
    assert!((host - tensor_mean).abs() < 1e-5, "{host} vs {tensor_mean}");
}
