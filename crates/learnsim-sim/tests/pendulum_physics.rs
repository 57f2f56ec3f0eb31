//! The pendulum ODE against analytic results and conservation laws.

use learnsim_sim::pendulum::{Pendulum, wrap_angle};

fn frictionless() -> Pendulum {
    Pendulum {
        damping: 0.0,
        ..Pendulum::standard()
    }
}

/// Small oscillations: T = 2π√(l/g)·(1 + θ₀²/16 + …). At θ₀ = 0.01 the amplitude correction
/// is 6e-6; RK4's phase error is O((ω·dt)⁴) ≈ (3.13 × 0.02)⁴ ≈ 1.5e-5 per unit phase times a
/// small constant; upward zero crossings are located by linear interpolation where θ is
/// linear in t to O((ω·dt)²·θ₀), a time error ~1e-7 s over ten periods. 1e-4 relative
/// covers these and breaks for any wrong g/l or factor.
#[test]
fn small_angle_period_matches_the_analytic_one() {
    let p = frictionless();
    let theta0: f64 = 0.01;
    let analytic =
        2.0 * std::f64::consts::PI * (p.length / p.gravity).sqrt() * (1.0 + theta0 * theta0 / 16.0);
    let mut state = [theta0, 0.0];
    let mut crossings = Vec::new();
    for n in 0..2000 {
        let next = p.step(state, 0.0);
        if state[0] < 0.0 && next[0] >= 0.0 {
            let frac = -state[0] / (next[0] - state[0]);
            crossings.push((n as f64 + frac) * p.dt);
        }
        state = next;
    }
    assert!(crossings.len() >= 10);
    let period = (crossings[crossings.len() - 1] - crossings[0]) / (crossings.len() - 1) as f64;
    assert!(
        ((period - analytic) / analytic).abs() < 1e-4,
        "{period} vs {analytic}"
    );
}

/// Without friction, E − u·θ is conserved under a constant torque u (the torque is the
/// force of the potential −u·θ). RK4's energy error per step is O((ω·dt)⁵) of E with
/// ω·dt ≈ 0.063 (1e-6), so 1000 steps at a large amplitude drift below 1e-3 of E.
#[test]
fn energy_is_conserved_without_friction() {
    let p = frictionless();
    for u in [0.0, 2.5] {
        let mut state = [2.5, 0.0];
        let invariant = |s: [f64; 2]| p.energy(s) - u * s[0];
        let start = invariant(state);
        let mut worst: f64 = 0.0;
        for _ in 0..1000 {
            state = p.step(state, u);
            worst = worst.max((invariant(state) - start).abs());
        }
        assert!(worst < 1e-3 * p.energy([2.5, 0.0]), "u {u}: drift {worst}");
    }
}

/// Friction only takes energy out: E falls at every step of a free swing.
#[test]
fn friction_dissipates() {
    let p = Pendulum {
        damping: 0.3,
        ..Pendulum::standard()
    };
    let mut state = [2.0, 1.0];
    for _ in 0..500 {
        let next = p.step(state, 0.0);
        assert!(p.energy(next) < p.energy(state));
        state = next;
    }
}

/// Torques beyond the limit act as the limit; episodes are seeded.
#[test]
fn torque_is_clipped_and_episodes_are_seeded() {
    let p = Pendulum::standard();
    assert_eq!(p.step([0.3, 0.1], 100.0), p.step([0.3, 0.1], p.max_torque));
    assert_eq!(p.random_episode(5, 50, 2.0), p.random_episode(5, 50, 2.0));
    assert_ne!(p.random_episode(5, 50, 2.0), p.random_episode(6, 50, 2.0));
    let (states, actions) = p.random_episode(5, 50, 2.0);
    assert_eq!((states.len(), actions.len()), (51, 50));
    assert!(actions.iter().all(|u| u.abs() <= p.max_torque));
    assert!((wrap_angle(3.0 * std::f64::consts::PI) - std::f64::consts::PI).abs() < 1e-12);
    assert!((wrap_angle(-0.5) + 0.5).abs() < 1e-15);
}
