//! n-body scoring on systems whose answers are known: free particles, constant acceleration,
//! hand-computed one-step errors.

use learnsim_eval::object_dynamics::{
    ConstantVelocityDv, DeltaV, one_step_mse, rollout, score_rollouts,
};
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

impl DeltaV<Bodies> for Uniform {
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
    let scores = score_rollouts(
        &ConstantVelocityDv,
        &[traj],
        &|b: &Bodies| physics.energy(b),
        20,
        20,
        &[1, 5, 20],
    )
    .unwrap();
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
    impl DeltaV<Bodies> for Explode {
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

/// The exact model of the spring chain: Δv = F dt from the chain's own forces.
struct ChainPhysics(f64);

impl DeltaV<learnsim_sim::spring_chain::Chain> for ChainPhysics {
    fn delta_v(&self, systems: &[&learnsim_sim::spring_chain::Chain]) -> Vec<Vec<[f64; 2]>> {
        systems
            .iter()
            .map(|c| {
                c.forces()
                    .iter()
                    .map(|f| [f[0] * self.0, f[1] * self.0])
                    .collect()
            })
            .collect()
    }
}

#[test]
fn chain_rollouts_with_the_true_forces_replay_the_ground_truth() {
    use learnsim_eval::object_dynamics::ZeroVelocityDv;
    use learnsim_sim::spring_chain::ChainConfig;
    // Chain::advance is the simulator's own semi-implicit Euler step, so Δv = F dt reproduces
    // the trajectory exactly (same operations in the same order: bit-identical).
    let config = ChainConfig::default();
    let truth = config.simulate(7, Some(0.5), 51, 11);
    let states = rollout(&ChainPhysics(config.dt), &truth, 0, 50).unwrap();
    for (t, s) in states.iter().enumerate() {
        assert_eq!(s.position, truth.position[t], "frame {t}");
    }
    // Zero velocity stops every free mass; fixed ends never move under any model.
    let stopped = rollout(&ZeroVelocityDv, &truth, 10, 3).unwrap();
    assert!(stopped[1].velocity.iter().all(|v| *v == [0.0, 0.0]));
    assert_eq!(stopped[1].position, truth.position[10]);
    let mut wild = truth.state(10);
    wild.velocity[0] = [5.0, 5.0];
    let moved = learnsim_eval::object_dynamics::ObjectState::advance(&wild, &[[1.0, 1.0]; 7], 0.1);
    assert_eq!(moved.position[0], truth.position[10][0]);
}
