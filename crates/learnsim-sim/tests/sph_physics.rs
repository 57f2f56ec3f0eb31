//! Physics of the WCSPH solver: Taylor–Green decay, momentum conservation, dam-break walls, a
//! hydrostatic column at rest.

use learnsim_core::Stepper;
use learnsim_sim::case::{dam_break_config, tgv_config};
use learnsim_sim::scenes::{TaylorGreenScene, taylor_green};
use learnsim_sim::sph::{Formulation, Sph, SphConfig, SphState};
use learnsim_sim::{Case, Split, Tier, trajectory_seed};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

fn tgv(config: SphConfig, amplitude: f64, seed: u64) -> (Sph, SphState) {
    let state = taylor_green(
        &TaylorGreenScene { amplitude },
        &config,
        &mut ChaCha8Rng::seed_from_u64(seed),
    );
    (config.init().unwrap(), state)
}

/// Decay rate λ of the solver's viscous operator (Morris et al. 1997) for the Fourier mode k on
/// the initial square lattice, in units of |k|²: the viscous acceleration of v = v̂·e^{ik·x} is
/// −νλv with λ = −2V Σⱼ (1 − cos k·xᵢⱼ) W′(rᵢⱼ)/rᵢⱼ and V = m/ρ₀ = 1/Σⱼ W(rᵢⱼ). As h/dx → ∞
/// it tends to 1; at finite width it is what the lattice can do, whatever the time stepping.
fn lattice_viscous_rate(config: &SphConfig, k: [f64; 2]) -> f64 {
    let kernel = config.kernel();
    let reach = (kernel.support() / config.dx).ceil() as i64;
    let (mut weight_sum, mut rate) = (0.0, 0.0);
    for a in -reach..=reach {
        for b in -reach..=reach {
            let x = [a as f64 * config.dx, b as f64 * config.dx];
            let r = (x[0] * x[0] + x[1] * x[1]).sqrt();
            weight_sum += kernel.value(r);
            if r > 0.0 {
                rate -= 2.0 * (1.0 - (k[0] * x[0] + k[1] * x[1]).cos()) * kernel.derivative(r) / r;
            }
        }
    }
    rate / weight_sum / (k[0] * k[0] + k[1] * k[1])
}

/// The Taylor–Green field is made of the modes (±2π, ±2π).
const TGV_MODE: [f64; 2] = [2.0 * PI, 2.0 * PI];

/// |k|² of [`TGV_MODE`].
const TGV_K2: f64 = 8.0 * PI * PI;

/// Taylor–Green is an exact Navier–Stokes solution at any Reynolds number. At U = 0.01 (Re = 1)
/// advection is negligible, so the solver's kinetic energy must decay as exp(−2λν|k|²t), λ from
/// the lattice sum above: this checks the viscous operator, the pressure–density coupling and
/// the time stepping, once without the transport velocity's background pressure and once with
/// the case's.
///
/// Tolerances: without p_b, what the lattice sum leaves out is the symplectic-Euler step (a
/// relative rate error of about r·dt/2 = 1.6 · 8e-4 / 2 ≈ 1e-3, so 1e-3 in energy by t = 1),
/// the pressure's response to a divergence-free mode, of order (U/c₀)² = 1e-6, and the lattice
/// drifting by U·t ≤ 0.25·dx; 0.5 % covers them (measured: 0.1 %). With p_b the transport
/// velocity pushes the drifting lattice back and adds an energy error that grows with p_b:
/// measured 0.5 %, 1.7 % and 5.4 % at t = 1 for p_b = 1, 2 and 4 ρ₀c₀². The bound for the
/// case's 2ρ₀c₀² is 2.5 %.
#[test]
fn taylor_green_at_re_1_decays_as_the_lattice_viscous_operator_predicts() {
    for (background_pressure, bound) in [(Some(0.0), 0.005), (None, 0.025)] {
        let mut config = tgv_config(0.04);
        if let Some(p_b) = background_pressure {
            config.formulation = Formulation::TransportVelocity {
                background_pressure: p_b,
            };
        }
        let (mut solver, mut state) = tgv(config, 0.01, 7);
        let nu = config.viscosity;
        let lambda = lattice_viscous_rate(&config, TGV_MODE);
        let e0 = solver.kinetic_energy(&state);
        let mut worst: f64 = 0.0;
        for frame in 1..=25 {
            solver.step(&mut state).unwrap();
            let t = frame as f64 * config.frame_dt();
            let discrete = e0 * (-2.0 * lambda * nu * TGV_K2 * t).exp();
            worst = worst.max((solver.kinetic_energy(&state) - discrete).abs() / discrete);
        }
        assert!(
            worst < bound,
            "{:?}: worst relative kinetic-energy error {worst}",
            config.formulation
        );
    }
}

/// The recipe's check: at Re = 100 and the CPU tier's dx = 0.04 the kinetic energy follows the
/// analytic exp(−16π²νt) within a few percent over t ≤ 1.
///
/// Tolerance, as a budget: (1) the discrete viscous operator of this lattice decays slower than
/// ν|k|² (λ < 1, asserted below to within 5 % of 1), which raises the energy at t = 1 by
/// exp(16π²ν(1 − λ)) − 1 (5.9 % for h = 2·dx); (2) the transient while the vortex's stagnation
/// points stretch the lattice, which the transport velocity keeps to about 3 % (measured at
/// dx = 0.02, where the operator's bias is 1.5 %). Their sum, rounded up, is 9 %. Measured:
/// 6.1 % at t = 0.2. With h = 1.3·dx and p_b = ρ₀c₀² this test failed by 44 %.
#[test]
fn taylor_green_at_re_100_follows_exp_minus_16_pi2_nu_t() {
    let (mut solver, mut state) = tgv(tgv_config(0.04), 1.0, 7);
    let nu = solver.config().viscosity;
    let lambda = lattice_viscous_rate(solver.config(), TGV_MODE);
    assert!((lambda - 1.0).abs() < 0.05, "lattice viscous rate {lambda}");
    let e0 = solver.kinetic_energy(&state);
    let frame_dt = solver.config().frame_dt();
    let mut worst: f64 = 0.0;
    for frame in 1..=25 {
        solver.step(&mut state).unwrap();
        let t = frame as f64 * frame_dt;
        let exact = e0 * (-2.0 * TGV_K2 * nu * t).exp();
        worst = worst.max((solver.kinetic_energy(&state) - exact).abs() / exact);
    }
    assert!(worst < 0.09, "worst relative kinetic-energy error {worst}");
}

/// Pair forces are antisymmetric, so total momentum in a periodic box stays at its initial
/// zero up to round-off: 625 particles · |v| ≤ 1 · ε(1e-16) per step · 2500 steps ≲ 1e-9.
#[test]
fn taylor_green_at_re_100_conserves_momentum() {
    let (mut solver, mut state) = tgv(tgv_config(0.04), 1.0, 3);
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

/// Dam break: wall particles never move, the surge advances, and no
/// energy appears from nowhere: the fluid's kinetic energy never exceeds the potential energy
/// it has lost plus the elastic energy its weak compressibility stored at the start
/// (viscosity only removes energy). Per unit mass the stored energy is p²/(2ρ²c₀²) with the
/// hydrostatic p = ρg(H − y); early on, when little height is lost, it is what bounds the
/// acoustic transient.
#[test]
fn dam_break_keeps_walls_fixed_and_energy_bounded() {
    let config = dam_break_config(0.0125);
    let trajectory = Case::DamBreak2d
        .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 41, &|| {})
        .unwrap();
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

/// A column filling the dam-break tank's width, 0.3 deep, at hydrostatic density, stays at
/// rest on its wall particles: what holds it is the walls' pressure, not the clamp in `advect`
/// (which would keep particles inside while letting the column collapse onto the floor). Over
/// 0.5 s (eight periods of its acoustic mode, 4H/c₀ = 0.06 s): no fluid particle moves more
/// than half a spacing (measured 0.08 dx), no speed exceeds 5 % of √(gH) = 1.7 m/s (measured
/// 0.034 m/s), and the pressure grows with depth at ρ₀g within 10 % averaged over the frames
/// (a least-squares slope through the surface, particles deeper than 3 dx; measured 1.04 ρ₀g:
/// the slope oscillates ±5 % with that acoustic mode, which a weakly compressible fluid at
/// c₀ = 20 m/s carries, and the mean is what the hydrostatic balance fixes).
#[test]
fn a_column_at_rest_keeps_its_hydrostatic_pressure_and_does_not_drift() {
    use learnsim_sim::scenes::{DamBreakScene, dam_break};
    let dx = 0.0125;
    let (depth, g) = (0.3, 9.81);
    let config = dam_break_config(dx);
    let tank = learnsim_sim::case::dam_break_scene();
    let scene = DamBreakScene {
        column_width: (tank.tank_width, tank.tank_width),
        column_height: (depth, depth),
        ..tank
    };
    let mut state = dam_break(&scene, &config, &mut ChaCha8Rng::seed_from_u64(0));
    let start = state.particles.position.clone();
    let fluid: Vec<usize> = (0..start.len())
        .filter(|&i| !state.particles.kind[i].is_kinematic())
        .collect();
    let mut solver = config.init().unwrap();
    let mut slopes = Vec::new();
    for _ in 0..50 {
        solver.step(&mut state).unwrap();
        let (mut pd, mut dd) = (0.0, 0.0);
        for &i in &fluid {
            let d = depth - state.particles.position[i][1];
            if d >= 3.0 * dx {
                pd += d * config.pressure(state.density[i]);
                dd += d * d;
            }
        }
        slopes.push(pd / dd / (config.rest_density * g));
    }
    let moved = fluid
        .iter()
        .map(|&i| {
            let (p, q) = (state.particles.position[i], start[i]);
            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()
        })
        .fold(0.0, f64::max);
    assert!(moved < 0.5 * dx, "a particle moved {} dx", moved / dx);
    let speed = fluid
        .iter()
        .map(|&i| {
            let v = state.particles.velocity[i];
            (v[0] * v[0] + v[1] * v[1]).sqrt()
        })
        .fold(0.0, f64::max);
    assert!(speed < 0.05 * (g * depth).sqrt(), "speed {speed} m/s");
    let mean = slopes.iter().sum::<f64>() / slopes.len() as f64;
    assert!((mean - 1.0).abs() < 0.1, "dp/d(depth) = {mean}·ρ₀g");
}
