//! Gradient-based MPC: plan by Adam through any differentiable model, apply to the plant.

use super::*;

/// A closed-loop MPC episode on the true pendulum.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlEpisode {
    /// `control_steps + 1` true states.
    pub states: Vec<PendulumState>,
    /// Applied torques.
    pub torques: Vec<f64>,
    /// At each control step, the states the planner expects over its horizon under the plan
    /// it settled on (its model's prediction, before the first torque is applied). Empty for
    /// controllers that do not plan.
    pub plans: Vec<Vec<PendulumState>>,
    /// Σ_t (1 − cos θ_t)/2 over the states after each step (1 per step upright, 0 hanging).
    pub control_return: f64,
    /// Largest |θ − π| (wrapped) over the last `upright_steps` states.
    pub final_upright_error: f64,
}

/// Runs MPC with `model` as the planner's dynamics and the true pendulum as the plant.
/// `device` must be an autodiff device. `progress(step)` after each control step.
pub fn mpc_episode(
    model: &impl Dynamics,
    config: &PendulumConfig,
    device: &Device,
    progress: &mut dyn FnMut(usize),
) -> ControlEpisode {
    let m = &config.mpc;
    let p = &config.pendulum;
    let h = m.horizon.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x3C7A);
    // The plan in units of u_max. A small random start breaks the symmetry.
    let mut plan: Vec<f64> = (0..h).map(|_| rng.random_range(-0.1..0.1)).collect();
    let mut state = [m.initial_angle, 0.0];
    let mut states = vec![state];
    let mut torques = Vec::with_capacity(m.control_steps);
    let mut plans = Vec::with_capacity(m.control_steps);
    let ml2 = p.mass * p.length * p.length;
    let mgl = p.mass * p.gravity * p.length;
    let e_up = 2.0 * mgl;
    for step in 0..m.control_steps {
        let mut adam = HostAdam::new(h);
        for _ in 0..m.iterations {
            let a = Tensor::<2>::from_data(
                TensorData::new(plan.iter().map(|&v| v as f32).collect::<Vec<_>>(), [1, h]),
                device,
            )
            .require_grad();
            let u = a.clone().mul_scalar(p.max_torque);
            let mut s = tensor2(&[state], device);
            let mut cost = Tensor::<2>::zeros([1, 1], device);
            for k in 0..h {
                let uk = u.clone().narrow(1, k, 1);
                s = model.step(s, uk.clone());
                let theta = s.clone().narrow(1, 0, 1);
                let omega = s.clone().narrow(1, 1, 1);
                // Upright is θ = π: 1 + cos θ is 0 there and 2 hanging down.
                // E − E_up = ½ml²θ̇² + mgl(1 − cos θ) − 2mgl = ½ml²θ̇² − mgl·cos θ − mgl.
                cost = cost
                    + theta.clone().cos().add_scalar(1.0)
                    + (omega.clone() * omega.clone()).mul_scalar(m.speed_weight)
                    + (uk.clone() * uk).mul_scalar(m.torque_weight / (p.max_torque * p.max_torque))
                    + {
                        let gap = (omega.clone() * omega).mul_scalar(0.5 * ml2)
                            - theta.cos().mul_scalar(mgl).add_scalar(mgl);
                        (gap.clone() * gap).mul_scalar(m.energy_weight / (e_up * e_up))
                    };
            }
            let grads = cost.sum().backward();
            let g = a
                .grad(&grads)
                .expect("the plan tracks gradients on an autodiff device")
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 gradient");
            adam.step(&mut plan, &g, m.lr, |_, x| x.clamp(-1.0, 1.0));
        }
        plans.push(expected_states(model, state, &plan, p.max_torque, device));
        let torque = p.max_torque * plan[0];
        state = p.step(state, torque);
        states.push(state);
        torques.push(torque);
        // Warm start: the rest of the plan, its last torque repeated.
        plan.rotate_left(1);
        if h > 1 {
            plan[h - 1] = plan[h - 2];
        }
        progress(step + 1);
    }
    ControlEpisode {
        plans,
        ..ControlEpisode::scored(states, torques, m.upright_steps)
    }
}

/// The states `model` predicts from `state` under `plan` (in units of `max_torque`).
fn expected_states(
    model: &impl Dynamics,
    state: PendulumState,
    plan: &[f64],
    max_torque: f64,
    device: &Device,
) -> Vec<PendulumState> {
    let mut s = tensor2(&[state], device);
    plan.iter()
        .map(|&a| {
            let u = Tensor::<2>::from_data(
                TensorData::new(vec![(max_torque * a) as f32], [1, 1]),
                device,
            );
            s = model.step(s.clone(), u);
            let v = s
                .clone()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 state");
            [f64::from(v[0]), f64::from(v[1])]
        })
        .collect()
}

/// A controller that does not plan, the yardstick of MPC's return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenLoopController {
    /// No torque: the pendulum swings (or hangs) on its own.
    ZeroTorque,
    /// Torques uniform in ±`max_torque`, fresh each step, from the run seed.
    RandomTorque,
}

/// An episode of `control_steps` from MPC's start under a controller that does not plan.
pub fn open_loop_episode(
    config: &PendulumConfig,
    controller: OpenLoopController,
) -> ControlEpisode {
    let m = &config.mpc;
    let p = &config.pendulum;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x0A11_D0E5);
    let mut state = [m.initial_angle, 0.0];
    let mut states = vec![state];
    let mut torques = Vec::with_capacity(m.control_steps);
    for _ in 0..m.control_steps {
        let torque = match controller {
            OpenLoopController::ZeroTorque => 0.0,
            OpenLoopController::RandomTorque => rng.random_range(-p.max_torque..=p.max_torque),
        };
        state = p.step(state, torque);
        states.push(state);
        torques.push(torque);
    }
    ControlEpisode::scored(states, torques, m.upright_steps)
}

impl ControlEpisode {
    /// The episode with its return and final upright error.
    fn scored(states: Vec<PendulumState>, torques: Vec<f64>, upright_steps: usize) -> Self {
        let control_return = states[1..].iter().map(|s| (1.0 - s[0].cos()) / 2.0).sum();
        let tail = upright_steps.min(states.len());
        let final_upright_error = states[states.len() - tail..]
            .iter()
            .map(|s| wrap_angle(s[0] - std::f64::consts::PI).abs())
            .fold(0.0, f64::max);
        Self {
            states,
            torques,
            plans: Vec::new(),
            control_return,
            final_upright_error,
        }
    }
}
