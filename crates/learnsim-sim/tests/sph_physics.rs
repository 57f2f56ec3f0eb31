//! Physics of the WCSPH solver: Taylor–Green decay, momentum conservation, dam-break walls.

use learnsim_core::Stepper;
use learnsim_sim::case::{dam_break_config, tgv_config};
use learnsim_sim::scenes::{TaylorGreenScene, taylor_green};
use learnsim_sim::sph::{Sph, SphState};
use learnsim_sim::{Case, Split, Tier, trajectory_seed};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

fn tgv(dx: f64, amplitude: f64, seed: u64) -> (Sph, SphState) {
    let config = tgv_config(dx);
    let state = taylor_green(
        &TaylorGreenScene { amplitude },
        &config,
        &mut ChaCha8Rng::seed_from_u64(seed),
    );
    (config.init().unwrap(), state)
}

/// Taylor–Green is an exact Navier–Stokes solution at any Reynolds number; its kinetic energy
/// decays as exp(−16π²νt). At U = 0.01 (Re = 1) advection is negligible, so this checks the
/// viscous operator, the pressure–density coupling and the time stepping of the full solver.
///
/// Tolerance: the SPH Laplacian (Morris form) of a Fourier mode k carries a relative error of
/// order (kh)²·c_W; a pure shear wave at the same resolution (h = 1.3·0.04, k = 2π) decays
/// 4.4 % slow, i.e. ε ≤ 5 % on the rate. Over t ≤ 1 that gives a KE error of at most
/// exp(16π²ν·ε·t) − 1 = exp(0.079) − 1 ≈ 8 %.
#[test]
fn taylor_green_kinetic_energy_follows_exp_minus_16_pi2_nu_t() {
    let (mut solver, mut state) = tgv(0.04, 0.01, 7);
    let nu = solver.config().viscosity;
    let e0 = solver.kinetic_energy(&state);
    let frame_dt = solver.config().frame_dt();
    let mut worst: f64 = 0.0;
    for frame in 1..=25 {
        solver.step(&mut state).unwrap();
        let t = frame as f64 * frame_dt;
        let exact = e0 * (-16.0 * PI * PI * nu * t).exp();
        worst = worst.max((solver.kinetic_energy(&state) - exact).abs() / exact);
    }
    assert!(worst < 0.08, "worst relative kinetic-energy error {worst}");
}

/// Pair forces are antisymmetric, so total momentum in a periodic box stays at its initial
/// zero up to round-off: 625 particles · |v| ≤ 1 · ε(1e-16) per step · 2500 steps ≲ 1e-9.
#[test]
fn taylor_green_at_re_100_conserves_momentum() {
    let (mut solver, mut state) = tgv(0.04, 1.0, 3);
    let p0 = solver.momentum(&state);
    for _ in 0..10 {
        solver.step(&mut state).unwrap();
    }
    let p = solver.momentum(&state);
    assert!(
        (p[0] - p0[0]).abs() < 1e-9 && (p[1] - p0[1]).abs() < 1e-9,
        "{p0:?} -> {p:?}"
    );
}

/// Dam break: wall particles never move, fluid stays in the tank, the surge advances, and no
/// energy appears from nowhere: the fluid's kinetic energy never exceeds the potential energy
/// it has lost plus the elastic energy its weak compressibility stored at the start
/// (viscosity only removes energy). Per unit mass the stored energy is p²/(2ρ²c₀²) with the
/// hydrostatic p = ρg(H − y); early on, when little height is lost, it is what bounds the
/// acoustic transient.
#[test]
fn dam_break_keeps_walls_fixed_fluid_inside_and_energy_bounded() {
    let config = dam_break_config(0.0125);
    let trajectory = Case::DamBreak2d
        .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 41, &|| {})
        .unwrap();
    let domain = config.domain;
    let g = -config.gravity[1];
    let dt = config.frame_dt() as f32;
    let fluid: Vec<usize> = (0..trajectory.n_particles)
        .filter(|&i| !trajectory.kind[i].is_kinematic())
        .collect();
    let first = trajectory.frame(0);
    let potential =
        |frame: &[f32]| -> f64 { fluid.iter().map(|&i| g * frame[2 * i + 1] as f64).sum() };
    let top = fluid
        .iter()
        .map(|&i| first[2 * i + 1] as f64)
        .fold(0.0, f64::max)
        + 0.5 * config.dx;
    let elastic: f64 = fluid
        .iter()
        .map(|&i| {
            (g * (top - first[2 * i + 1] as f64)).powi(2) / (2.0 * config.sound_speed.powi(2))
        })
        .sum();
    for t in 1..trajectory.n_frames - 1 {
        let (prev, now, next) = (
            trajectory.frame(t - 1),
            trajectory.frame(t),
            trajectory.frame(t + 1),
        );
        for x in now.chunks(2) {
            assert!(domain.contains(&[x[0] as f64, x[1] as f64], 1e-6));
        }
        // Central-difference velocities of the stored frames (per unit mass).
        let kinetic: f64 = fluid
            .iter()
            .map(|&i| {
                let vx = (next[2 * i] - prev[2 * i]) / (2.0 * dt);
                let vy = (next[2 * i + 1] - prev[2 * i + 1]) / (2.0 * dt);
                0.5 * (vx * vx + vy * vy) as f64
            })
            .sum();
        let released = potential(first) - potential(now);
        assert!(
            kinetic <= released + elastic,
            "frame {t}: KE {kinetic} > {released} + {elastic}"
        );
    }
    let last = trajectory.frame(trajectory.n_frames - 1);
    for i in (0..trajectory.n_particles).filter(|&i| trajectory.kind[i].is_kinematic()) {
        assert_eq!(&first[2 * i..2 * i + 2], &last[2 * i..2 * i + 2]);
    }
    // The surge front (95th percentile of fluid x, robust to a stray droplet) advances by
    // at least 0.2 m in 0.4 s: Ritter's ideal front moves at 2√(gH) ≈ 3 m/s, friction and the
    // initial acceleration phase keep a real one well below that but far above zero.
    let front = |frame: &[f32]| {
        let mut xs: Vec<f32> = fluid.iter().map(|&i| frame[2 * i]).collect();
        xs.sort_by(f32::total_cmp);
        xs[xs.len() * 95 / 100]
    };
    assert!(
        front(last) > front(first) + 0.2,
        "front {} -> {}",
        front(first),
        front(last)
    );
}
