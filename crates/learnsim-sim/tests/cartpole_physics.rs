//! The cartpole ODE against analytic results and conservation laws.

use learnsim_sim::cartpole::Cartpole;

fn frictionless() -> Cartpole {
    Cartpole {
        cart_damping: 0.0,
        pole_damping: 0.0,
        ..Cartpole::standard()
    }
}

/// With the cart free, small swings have ω² = g(M+m)/(M·l) (the cart recoils). Same error
/// budget as the pendulum's period test (RK4 phase error (ω·dt)⁴ ≈ 1e-4 at ω ≈ 5 rad/s, dt
/// 0.02, times a small constant; amplitude 0.01 adds 6e-6): 5e-4 relative.
#[test]
fn free_cart_small_swing_frequency_matches_the_analytic_one() {
    let p = frictionless();
    let omega = (p.gravity * (p.cart_mass + p.pole_mass) / (p.cart_mass * p.length)).sqrt();
    let analytic = 2.0 * std::f64::consts::PI / omega;
    let mut state = [0.0, 0.0, 0.01, 0.0];
    let mut crossings = Vec::new();
    for n in 0..3000 {
        let next = p.step(state, 0.0);
        if state[2] < 0.0 && next[2] >= 0.0 {
            crossings.push((n as f64 - state[2] / (next[2] - state[2])) * p.dt);
        }
        state = next;
    }
    let period = (crossings[crossings.len() - 1] - crossings[0]) / (crossings.len() - 1) as f64;
    assert!(
        ((period - analytic) / analytic).abs() < 5e-4,
        "{period} vs {analytic}"
    );
}

/// Without friction or force, energy and horizontal momentum are conserved up to RK4's
/// truncation error. Measured over 1000 steps (20 s) of a large swing: energy at most 3.6e-4
/// (1.2e-4 of m·g·l), momentum at most 1.7e-5; the bounds are about four times that
/// (5e-4·m·g·l and 5e-5·(M + m)). That the drift is truncation error, not a modelling error,
/// is the next test's business.
#[test]
fn energy_and_momentum_are_conserved_without_friction() {
    let p = frictionless();
    let mut state = [0.0, 0.3, 2.5, -1.0];
    let (e0, p0) = (p.energy(state), p.momentum(state));
    let scale = p.pole_mass * p.gravity * p.length;
    for _ in 0..1000 {
        state = p.step(state, 0.0);
        assert!((p.energy(state) - e0).abs() < 5e-4 * scale);
        assert!((p.momentum(state) - p0).abs() < 5e-5 * (p.cart_mass + p.pole_mass));
    }
}

/// The conservation errors are RK4's: halving dt divides them by 16 or more (fourth order;
/// measured 25–32 between dt = 0.02, 0.01 and 0.005), where a third-order or lower scheme, or
/// a force term applied inconsistently between stages, gives 8 or less. Bound: at least 12.
#[test]
fn conservation_errors_shrink_at_fourth_order() {
    let errors = |dt: f64| {
        let p = Cartpole {
            dt,
            ..frictionless()
        };
        let mut forced = [0.0, 0.0, 0.4, 0.0];
        let p0 = p.momentum(forced);
        let steps = (2.0 / dt).round() as usize;
        for _ in 0..steps {
            forced = p.step(forced, 3.0);
        }
        let impulse = p.momentum(forced) - (p0 + 3.0 * steps as f64 * dt);
        let mut free = [0.0, 0.3, 2.5, -1.0];
        let (e0, m0) = (p.energy(free), p.momentum(free));
        for _ in 0..(20.0 / dt).round() as usize {
            free = p.step(free, 0.0);
        }
        [impulse, p.energy(free) - e0, p.momentum(free) - m0].map(f64::abs)
    };
    let levels = [errors(0.02), errors(0.01), errors(0.005)];
    for pair in levels.windows(2) {
        for (k, name) in ["impulse", "energy", "momentum"].iter().enumerate() {
            let ratio = pair[0][k] / pair[1][k];
            assert!(
                ratio > 12.0,
                "{name}: error ratio {ratio} per halving of dt"
            );
        }
    }
}

/// A force changes the momentum by its impulse, Δp = F·t with no friction (the rail force is
/// the only horizontal external force), up to RK4's truncation error: measured 5.3e-8 after
/// 100 steps at 3 N; bound 2e-7. (Its fourth order is tested above.)
#[test]
fn force_impulse_changes_momentum() {
    let p = frictionless();
    let mut state = [0.0, 0.0, 0.4, 0.0];
    let p0 = p.momentum(state);
    for _ in 0..100 {
        state = p.step(state, 3.0);
    }
    let expected = p0 + 3.0 * 100.0 * p.dt;
    assert!(
        (p.momentum(state) - expected).abs() < 2e-7,
        "{}",
        p.momentum(state)
    );
    assert_eq!(p.step(state, 99.0), p.step(state, p.max_force));
    assert_eq!(p.random_episode(2, 20, 4.0), p.random_episode(2, 20, 4.0));
}
