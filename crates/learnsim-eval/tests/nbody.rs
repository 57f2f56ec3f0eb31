//! n-body scoring on systems whose answers are known: free particles, constant acceleration,
//! hand-computed one-step errors.

use learnsim_eval::nbody::{ConstantVelocityDv, DeltaV, one_step_mse, rollout, score_rollouts};
use learnsim_sim::nbody::{Bodies, NBodyConfig, NBodyTrajectory};

/// Two bodies in uniform acceleration a (constant across bodies), frames dt apart:
/// x(t) = x0 + v0 t + ½ a t², v(t) = v0 + a t.
fn accelerating(a: [f64; 2], frames: usize, dt: f64) -> NBodyTrajectory {
    let x0 = [[0.0, 0.0], [1.0, 2.0]];
    let v0 = [[0.5, -0.25], [-1.0, 0.0]];
    let at = |t: f64| -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
        let x = (0..2)
            .map(|i| [0, 1].map(|k| x0[i][k] + v0[i][k] * t + 0.5 * a[k] * t * t))
            .collect();
        let v = (0..2)
            .map(|i| [0, 1].map(|k| v0[i][k] + a[k] * t))
            .collect();
        (x, v)
    };
    let (position, velocity) = (0..frames).map(|f| at(f as f64 * dt)).unzip();
    NBodyTrajectory {
        mass: vec![1.0, 2.0],
        position,
        velocity,
        frame_dt: dt,
    }
}

/// The exact model of uniform acceleration: Δv = a·dt for every body.
struct Uniform([f64; 2], f64);

impl DeltaV for Uniform {
    fn delta_v(&self, systems: &[&Bodies]) -> Vec<Vec<[f64; 2]>> {
        let dv = [self.0[0] * self.1, self.0[1] * self.1];
        systems.iter().map(|b| vec![dv; b.len()]).collect()
    }
}

#[test]
fn one_step_error_of_constant_velocity_is_the_squared_velocity_change() {
    // Δv = a·dt = (0.3, −0.4)·0.1 for every body and step: Σ_xy Δv² = 0.03² + 0.04² = 2.5e-3.
    let traj = accelerating([0.3, -0.4], 10, 0.1);
    let mse = one_step_mse(&ConstantVelocityDv, std::slice::from_ref(&traj));
    assert!((mse - 2.5e-3).abs() < 1e-15, "{mse}");
    assert!(one_step_mse(&Uniform([0.3, -0.4], 0.1), &[traj]) < 1e-28);
}

#[test]
fn the_trapezoidal_rollout_is_exact_under_constant_acceleration_and_cv_errs_by_half_a_t_squared() {
    // With the exact Δv, x_{t+1} = x_t + dt (v_t + v_{t+1})/2 reproduces ½ a t² exactly (to
    // f64 rounding of sums of O(1) terms over 20 steps: 1e-13).
    let (a, dt) = ([0.3, -0.4], 0.1);
    let traj = accelerating(a, 21, dt);
    let states = rollout(&Uniform(a, dt), &traj, 0, 20).unwrap();
    for (t, s) in states.iter().enumerate() {
        for (p, q) in s.position.iter().zip(&traj.position[t]) {
            assert!((p[0] - q[0]).abs() < 1e-13 && (p[1] - q[1]).abs() < 1e-13);
        }
    }
    // Constant velocity misses ½ a (h dt)² per body after h steps: the per-frame error summed
    // over axes is ¼ |a|² (h dt)⁴ and mse_H averages frames 1..=H.
    let physics = NBodyConfig {
        gravity: 0.0,
        ..NBodyConfig::default()
    };
    let scores =
        score_rollouts(&ConstantVelocityDv, &[traj], &physics, 20, 20, &[1, 5, 20]).unwrap();
    let a2 = a[0] * a[0] + a[1] * a[1];
    for (h, mse) in scores.mse_by_horizon {
        let expected: f64 = (1..=h)
            .map(|k| 0.25 * a2 * (k as f64 * dt).powi(4))
            .sum::<f64>()
            / h as f64;
        assert!(
            (mse - expected).abs() < 1e-12 * expected.max(1e-12),
            "H {h}: {mse} vs {expected}"
        );
    }
}

#[test]
fn a_blown_up_rollout_is_reported_with_its_step() {
    struct Explode;
    impl DeltaV for Explode {
        fn delta_v(&self, systems: &[&Bodies]) -> Vec<Vec<[f64; 2]>> {
            systems
                .iter()
                .map(|b| {
                    let big = b.velocity[0][0].abs() * 1e200 + 1e200;
                    vec![[big, 0.0]; b.len()]
                })
                .collect()
        }
    }
    let traj = accelerating([0.0, 0.0], 10, 0.1);
    let err = rollout(&Explode, &traj, 2, 5).unwrap_err().to_string();
    assert!(err.contains("step 2") && err.contains("frame 4"), "{err}");
}
