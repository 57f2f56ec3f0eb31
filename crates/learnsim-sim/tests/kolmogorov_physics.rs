//! Physics of the 2D vorticity solver: exact solutions it must reproduce, and a seeded,
//! finite turbulent run.

use learnsim_sim::spectral::kolmogorov::{Kolmogorov, KolmogorovRecipe, kolmogorov_run};
use std::f64::consts::TAU;

fn grid(n: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let h = TAU / n as f64;
    (0..n * n)
        .map(|p| f((p / n) as f64 * h, (p % n) as f64 * h))
        .collect()
}

fn max_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// The Taylor–Green vortex ω = 2 sin x sin y is a steady Euler flow (u·∇ω ≡ 0: ω is a
/// function of ψ), so unforced it decays as exp(−(2ν + α)t) exactly. The integrating factor
/// integrates the linear part exactly and the nonlinear term is round-off, so 1e-10 of the
/// amplitude bounds the error after 100 steps.
#[test]
fn taylor_green_vortex_decays_exactly() {
    let recipe = KolmogorovRecipe {
        n: 32,
        viscosity: 0.02,
        drag: 0.1,
        forcing: 0.0,
        ..KolmogorovRecipe::standard()
    };
    let w0 = grid(32, |x, y| 2.0 * x.sin() * y.sin());
    let mut flow = Kolmogorov::from_vorticity(&recipe, &w0).unwrap();
    for _ in 0..100 {
        flow.step();
    }
    let decay = (-(2.0 * recipe.viscosity + recipe.drag) * flow.time()).exp();
    let expected: Vec<f64> = w0.iter().map(|w| w * decay).collect();
    let error = max_difference(&flow.vorticity(), &expected);
    assert!(error < 1e-10, "Taylor–Green error {error}");
    // u = ∂ψ/∂y with ψ = sin x sin y: u = sin x cos y.
    let u = &flow.velocity()[0];
    let expected_u: Vec<f64> = grid(32, |x, y| x.sin() * y.cos() * decay);
    assert!(max_difference(u, &expected_u) < 1e-10);
}

/// From rest, the forcing F cos(k_f y) drives the laminar Kolmogorov flow
/// ω(t) = F/λ·(1 − e^{−λt})·cos(k_f y), λ = νk_f² + α, again with a vanishing nonlinear
/// term. Lawson RK4 treats the constant forcing with a fourth-order error in λ·dt
/// (≈ 1e-3 here): ~1e-13 of the amplitude, so 1e-9 is a safe bound.
#[test]
fn laminar_kolmogorov_flow_is_reached_exactly() {
    let recipe = KolmogorovRecipe {
        n: 32,
        ..KolmogorovRecipe::standard()
    };
    let mut flow = Kolmogorov::from_vorticity(&recipe, &vec![0.0; 32 * 32]).unwrap();
    for _ in 0..500 {
        flow.step();
    }
    let kf = recipe.forcing_wavenumber as f64;
    let lambda = recipe.viscosity * kf * kf + recipe.drag;
    let amplitude = recipe.forcing / lambda * (1.0 - (-lambda * flow.time()).exp());
    let expected = grid(32, |_, y| amplitude * (kf * y).cos());
    let error = max_difference(&flow.vorticity(), &expected);
    assert!(
        error < 1e-9 * amplitude,
        "laminar error {error} of {amplitude}"
    );
}

/// A short turbulent run is finite, seeded and incompressible: the same seed gives the same
/// bits, another seed other frames, and the recorded velocity's spectral divergence is zero
/// to round-off (it comes from a stream function).
#[test]
fn turbulent_runs_are_seeded_and_solenoidal() {
    let recipe = KolmogorovRecipe {
        n: 32,
        spin_up: 5.0,
        frames: 5,
        ..KolmogorovRecipe::standard()
    };
    let a = kolmogorov_run(&recipe, 1, &mut |_| {}).unwrap();
    let b = kolmogorov_run(&recipe, 1, &mut |_| {}).unwrap();
    let c = kolmogorov_run(&recipe, 2, &mut |_| {}).unwrap();
    assert_eq!(a.frames, b.frames);
    assert_ne!(a.frames, c.frames);
    assert_eq!(a.frames.len(), 5);
    assert!((a.times[1] - a.times[0] - 0.1).abs() < 1e-9);
    assert!(a.mean_energy.is_finite() && a.mean_energy > 0.0);
    // Spectral divergence of the last frame.
    let n = 32;
    let fft = learnsim_sim::spectral::Fft2::new(n);
    let frame = &a.frames[4];
    let mut div = vec![num_complex::Complex64::default(); n * n];
    let mut size = 0.0f64;
    for c in 0..2 {
        let mut f: Vec<num_complex::Complex64> = frame[c * n * n..(c + 1) * n * n]
            .iter()
            .map(|&v| num_complex::Complex64::new(f64::from(v), 0.0))
            .collect();
        fft.forward(&mut f);
        for (m, v) in f.iter().enumerate() {
            let k = fft.wavevector(m)[c];
            div[m] += num_complex::Complex64::new(0.0, k) * v;
            size = size.max((k * v.norm()).abs());
        }
    }
    let worst = div.iter().fold(0.0f64, |m, v| m.max(v.norm()));
    // f32 storage: ≈ 1e-7 of the largest mode's derivative, summed over the modes.
    assert!(worst < 1e-5 * size, "divergence {worst} of {size}");
}

#[test]
fn bad_recipes_are_refused() {
    let mut recipe = KolmogorovRecipe::standard();
    recipe.forcing_wavenumber = 30;
    assert!(recipe.check().is_err());
    let recipe = KolmogorovRecipe::standard();
    assert!(Kolmogorov::from_vorticity(&recipe, &[0.0; 10]).is_err());
}
