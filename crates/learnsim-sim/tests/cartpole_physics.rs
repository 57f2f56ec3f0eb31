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

/// Without friction or force, energy and horizontal momentum are conserved; RK4 drifts by
/// O((ω·dt)⁵) per step, ~1e-4 relative over 1000 steps of a large swing: bound 1e-3.
#[test]
fn energy_and_momentum_are_conserved_without_friction() {
    let p = frictionless();
    let mut state = [0.0, 0.3, 2.5, -1.0];
    let (e0, p0) = (p.energy(state), p.momentum(state));
    let scale = p.pole_mass * p.gravity * p.length;
    for _ in 0..1000 {
        state = p.step(state, 0.0);
        assert!((p.energy(state) - e0).abs() < 1e-3 * scale);
        assert!((p.momentum(state) - p0).abs() < 1e-3 * (p.cart_mass + p.pole_mass));
    }
}

/// A force changes the momentum by its impulse: Δp = F·t with no friction, held exactly
/// (the rail force is the only horizontal external force; round-off only).
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
        (p.momentum(state) - expected).abs() < 1e-3,
        "{}",
        p.momentum(state)
    );
    assert_eq!(p.step(state, 99.0), p.step(state, p.max_force));
    assert_eq!(p.random_episode(2, 20, 4.0), p.random_episode(2, 20, 4.0));
}
