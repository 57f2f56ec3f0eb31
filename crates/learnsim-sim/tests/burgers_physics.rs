//! The Burgers data solver: exact discrete heat decay of a Fourier mode (and the analytic
//! e^{−νk²t} to O(h²)), invariance of the v = 0 subspace, mean conservation of 1D Burgers to
//! the upwind scheme's O(h²), translation equivariance, seeds and recipe checks.

use learnsim_sim::burgers::{BurgersRecipe, Velocity2, burgers_trajectory};
use std::f64::consts::TAU;

fn field(m: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let h = TAU / m as f64;
    (0..m)
        .flat_map(|i| (0..m).map(move |j| (i, j)))
        .map(|(i, j)| f(i as f64 * h, j as f64 * h))
        .collect()
}

fn run(state: &mut Velocity2, viscosity: f64, time: f64, dt: f64) {
    let steps = (time / dt).round() as usize;
    for _ in 0..steps {
        state.heun(viscosity, dt, true);
    }
}

#[test]
fn tiny_modes_decay_like_the_heat_equation() {
    // With advection off (PDE-Net's heat variant) the solver is u_t = νΔ_h u; with it on, a
    // 1e-12 amplitude makes u·∇u ≈ 4e-12 of νΔu, below the tolerance too. The 5-point
    // Laplacian's eigenvalue for sin(kx + ly) is −(4/h²)(sin²(kh/2) + sin²(lh/2)); Heun's
    // relative error after time t is t·|λ|³dt²/6 ≈ 3.3e-8 here (λ ≈ −0.5), so the decay matches
    // the discrete rate to 1e-7, and e^{−ν(k²+l²)t} to the Laplacian's O(h²(k⁴+l⁴)/12)·νt.
    let (m, nu, time, dt) = (64, 0.1, 1.0, 1.0 / 800.0);
    let (k, l) = (2.0, 1.0);
    let h = TAU / m as f64;
    let amplitude = 1e-12;
    let mut state = Velocity2 {
        m,
        u: field(m, |x, y| amplitude * (k * x + l * y).sin()),
        v: vec![0.0; m * m],
    };
    let mut heat = state.clone();
    run(&mut state, nu, time, dt);
    for _ in 0..(time / dt).round() as usize {
        heat.heun(nu, dt, false);
    }
    let mode = |s: &Velocity2| {
        s.u[m / 8 * m + 3] / (amplitude * (k * (m / 8) as f64 * h + l * 3.0 * h).sin())
    };
    let probe = mode(&state);
    assert!((mode(&heat) / probe - 1.0).abs() < 1e-9);
    let discrete = -4.0 / (h * h) * ((k * h / 2.0).sin().powi(2) + (l * h / 2.0).sin().powi(2));
    let expected = (nu * discrete * time).exp();
    assert!(
        (probe / expected - 1.0).abs() < 1e-7,
        "{probe} vs {expected}"
    );
    let analytic = (-nu * (k * k + l * l) * time).exp();
    let bound = nu * time * h * h * (k.powi(4) + l.powi(4)) / 12.0 * 1.1;
    assert!(
        (probe / analytic - 1.0).abs() < bound,
        "{probe} vs e^(-νk²t) = {analytic}"
    );
}

#[test]
fn one_dimensional_burgers_keeps_v_zero_and_its_mean() {
    // v_t = −u v_x − v v_y + νΔv vanishes identically when v = 0, so v stays exactly 0. For
    // u = u(x) the equation is 1D Burgers, whose mean is conserved; the upwind (non-flux)
    // form conserves it only to its truncation error O(h²·|u u_xxx|) per unit time, which is
    // ≈ h² ≈ 0.01 for this O(1) field over t = 1 (it is also y-independent throughout).
    let m = 64;
    let mut state = Velocity2 {
        m,
        u: field(m, |x, _| 1.0 + 0.5 * x.sin() + 0.2 * (2.0 * x).cos()),
        v: vec![0.0; m * m],
    };
    let mean = |f: &[f64]| f.iter().sum::<f64>() / f.len() as f64;
    let before = mean(&state.u);
    run(&mut state, 0.05, 1.0, 1.0 / 800.0);
    assert!(state.v.iter().all(|&x| x == 0.0));
    let h = TAU / m as f64;
    assert!(
        (mean(&state.u) - before).abs() < h * h,
        "mean {before} → {}",
        mean(&state.u)
    );
    for i in 0..m {
        let row = &state.u[i * m..(i + 1) * m];
        assert!(row.iter().all(|&x| x == row[0]), "row {i} varies along y");
    }
}

#[test]
fn shifted_starts_give_shifted_solutions() {
    // The scheme is the same at every grid point of the periodic square: shifting the start by
    // whole cells shifts the solution exactly (same floating-point operations).
    let m = 32;
    let u = field(m, |x, y| (x + 2.0 * y).sin() + 0.5);
    let v = field(m, |x, y| (2.0 * x - y).cos() - 0.3);
    let shift = |f: &[f64], di: usize, dj: usize| -> Vec<f64> {
        (0..m)
            .flat_map(|i| (0..m).map(move |j| (i, j)))
            .map(|(i, j)| f[((i + m - di) % m) * m + (j + m - dj) % m])
            .collect()
    };
    let mut a = Velocity2 {
        m,
        u: u.clone(),
        v: v.clone(),
    };
    let mut b = Velocity2 {
        m,
        u: shift(&u, 3, 5),
        v: shift(&v, 3, 5),
    };
    run(&mut a, 0.05, 0.2, 1.0 / 400.0);
    run(&mut b, 0.05, 0.2, 1.0 / 400.0);
    assert_eq!(shift(&a.u, 3, 5), b.u);
    assert_eq!(shift(&a.v, 3, 5), b.v);
}

#[test]
fn trajectories_follow_the_recipe() {
    let recipe = BurgersRecipe {
        noise: 0.0,
        ..BurgersRecipe::standard()
    };
    let a = burgers_trajectory(&recipe, 0.0, 3, 9).expect("simulates");
    let b = burgers_trajectory(&recipe, 0.0, 3, 9).expect("simulates");
    let c = burgers_trajectory(&recipe, 0.0, 3, 10).expect("simulates");
    assert_eq!(a.frames, b.frames);
    assert_ne!(a.frames[0], c.frames[0]);
    assert_eq!(a.frames.len(), 3);
    assert_eq!(a.frames[0].m, recipe.n);
    // max|· − shift| = amplitude before the shift, the shift within ±2: every value in ±4.
    assert!(a.frames[0].u.iter().all(|x| x.abs() <= 4.0 + 1e-12));
    // Observation noise: 0.001·std, so two noisy copies differ by ≈ 0.0014·std per point.
    let noisy = burgers_trajectory(&BurgersRecipe::standard(), 0.0, 1, 9).expect("simulates");
    let diff = noisy.frames[0]
        .u
        .iter()
        .zip(&a.frames[0].u)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        / (recipe.n * recipe.n) as f64;
    assert!(
        diff.sqrt() > 0.0 && diff.sqrt() < 0.01,
        "noise rms {}",
        diff.sqrt()
    );
    for bad in [
        BurgersRecipe {
            n: 2,
            ..BurgersRecipe::standard()
        },
        BurgersRecipe {
            dt: f64::NAN,
            ..BurgersRecipe::standard()
        },
        BurgersRecipe {
            viscosity: -1.0,
            ..BurgersRecipe::standard()
        },
    ] {
        assert!(bad.check().is_err(), "{bad:?} accepted");
    }
}
