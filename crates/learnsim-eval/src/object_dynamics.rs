//! Scoring of object-dynamics models (Interaction Networks, MLPs, constant velocity) on
//! ground-truth trajectories of n-body systems and mass–spring chains: one-step Δv error,
//! autoregressive rollouts, position and velocity error by horizon, energy drift.

use crate::energy_drift;
use crate::rollout::RolloutError;
use learnsim_sim::nbody::{Bodies, NBodyTrajectory};
use learnsim_sim::spring_chain::{Chain, ChainTrajectory};

/// A state of N objects in 2D that a Δv model advances.
pub trait ObjectState: Clone {
    /// Positions `[N]`.
    fn positions(&self) -> &[[f64; 2]];
    /// Velocities `[N]`.
    fn velocities(&self) -> &[[f64; 2]];
    /// The next frame given every object's Δv, with the integrator of the ground truth.
    fn advance(&self, dv: &[[f64; 2]], dt: f64) -> Self;
}

/// A stored trajectory of [`ObjectState`]s.
pub trait ObjectTrajectory {
    /// The state type.
    type State: ObjectState;
    /// The state at frame `t`.
    fn state(&self, t: usize) -> Self::State;
    /// Number of stored frames.
    fn n_frames(&self) -> usize;
    /// Time between frames.
    fn frame_dt(&self) -> f64;
    /// Number of objects.
    fn n_objects(&self) -> usize {
        self.state(0).positions().len()
    }
    /// Δv between frames t and t + 1.
    fn delta_v(&self, t: usize) -> Vec<[f64; 2]> {
        let (a, b) = (self.state(t), self.state(t + 1));
        b.velocities()
            .iter()
            .zip(a.velocities())
            .map(|(p, q)| [p[0] - q[0], p[1] - q[1]])
            .collect()
    }
}

impl ObjectState for Bodies {
    fn positions(&self) -> &[[f64; 2]] {
        &self.position
    }
    fn velocities(&self) -> &[[f64; 2]] {
        &self.velocity
    }
    /// v_{t+1} = v_t + Δv, x_{t+1} = x_t + Δt (v_t + v_{t+1}) / 2: the trapezoidal rule, exact
    /// for constant acceleration over the frame (the ground truth takes 100 Verlet steps).
    fn advance(&self, dv: &[[f64; 2]], dt: f64) -> Self {
        let mut next = self.clone();
        for (i, d) in dv.iter().enumerate() {
            for k in 0..2 {
                let v1 = self.velocity[i][k] + d[k];
                next.position[i][k] += dt * 0.5 * (self.velocity[i][k] + v1);
                next.velocity[i][k] = v1;
            }
        }
        next
    }
}

impl ObjectTrajectory for NBodyTrajectory {
    type State = Bodies;
    fn state(&self, t: usize) -> Bodies {
        self.bodies(t)
    }
    fn n_frames(&self) -> usize {
        self.position.len()
    }
    fn frame_dt(&self) -> f64 {
        self.frame_dt
    }
}

impl ObjectState for Chain {
    fn positions(&self) -> &[[f64; 2]] {
        &self.position
    }
    fn velocities(&self) -> &[[f64; 2]] {
        &self.velocity
    }
    /// Semi-implicit Euler, as the ground truth: v += Δv, x += v dt. Fixed masses stay where
    /// they are whatever the model says (they are boundary conditions, like kinematic
    /// particles).
    fn advance(&self, dv: &[[f64; 2]], dt: f64) -> Self {
        let mut next = self.clone();
        for (i, d) in dv.iter().enumerate() {
            if self.fixed[i] {
                continue;
            }
            for k in 0..2 {
                next.velocity[i][k] += d[k];
                next.position[i][k] += next.velocity[i][k] * dt;
            }
        }
        next
    }
}

impl ObjectTrajectory for ChainTrajectory {
    type State = Chain;
    fn state(&self, t: usize) -> Chain {
        ChainTrajectory::state(self, t)
    }
    fn n_frames(&self) -> usize {
        self.position.len()
    }
    fn frame_dt(&self) -> f64 {
        self.dt
    }
}

/// A model of one frame's velocity change Δv = v_{t+1} − v_t.
pub trait DeltaV<S> {
    /// Δv of every object of every system.
    ///
    /// # Shapes
    /// - returns: `[systems][N_system]`
    fn delta_v(&self, systems: &[&S]) -> Vec<Vec<[f64; 2]>>;
}

/// The constant-velocity ("static" in the spring-chain demo) baseline: Δv = 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConstantVelocityDv;

impl<S: ObjectState> DeltaV<S> for ConstantVelocityDv {
    fn delta_v(&self, systems: &[&S]) -> Vec<Vec<[f64; 2]>> {
        systems
            .iter()
            .map(|b| vec![[0.0; 2]; b.positions().len()])
            .collect()
    }
}

/// The zero-velocity baseline: Δv = −v, so every object stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZeroVelocityDv;

impl<S: ObjectState> DeltaV<S> for ZeroVelocityDv {
    fn delta_v(&self, systems: &[&S]) -> Vec<Vec<[f64; 2]>> {
        systems
            .iter()
            .map(|b| b.velocities().iter().map(|v| [-v[0], -v[1]]).collect())
            .collect()
    }
}

/// One-step Δv MSE: Σ over x, y of the squared error, averaged over objects and over every
/// transition of `data` (the IN paper's one-step metric).
pub fn one_step_mse<T: ObjectTrajectory>(model: &dyn DeltaV<T::State>, data: &[T]) -> f64 {
    let (mut total, mut count) = (0.0, 0usize);
    for traj in data {
        let states: Vec<T::State> = (0..traj.n_frames() - 1).map(|t| traj.state(t)).collect();
        let refs: Vec<&T::State> = states.iter().collect();
        for (t, predicted) in model.delta_v(&refs).iter().enumerate() {
            for (p, truth) in predicted.iter().zip(traj.delta_v(t)) {
                total += (p[0] - truth[0]).powi(2) + (p[1] - truth[1]).powi(2);
                count += 1;
            }
        }
    }
    total / count.max(1) as f64
}

/// Rolls `model` out for `steps` frames from frame `start` of `truth` with the state's own
/// integrator. Returns the `steps + 1` states, the first being the truth's.
pub fn rollout<T: ObjectTrajectory>(
    model: &dyn DeltaV<T::State>,
    truth: &T,
    start: usize,
    steps: usize,
) -> Result<Vec<T::State>, RolloutError> {
    let mut states = vec![truth.state(start)];
    for step in 0..steps {
        let current = states.last().expect("non-empty");
        let dv = model.delta_v(&[current]).remove(0);
        let next = current.advance(&dv, truth.frame_dt());
        let n = next.positions().len().max(1);
        if let Some(i) = next
            .positions()
            .iter()
            .chain(next.velocities())
            .position(|p| !p[0].is_finite() || !p[1].is_finite())
        {
            return Err(RolloutError::NonFinite {
                step: step + 1,
                frame: start + step + 1,
                particle: i % n,
            });
        }
        states.push(next);
    }
    Ok(states)
}

/// Rollout scores of one model over a set of trajectories.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutScores {
    /// (H, position MSE averaged over predicted frames 1..=H and the windows).
    pub mse_by_horizon: Vec<(usize, f64)>,
    /// (H, velocity MSE averaged the same way).
    pub velocity_mse_by_horizon: Vec<(usize, f64)>,
    /// Mean over windows of max_t |E_t − E_0| / |E_0| of the predicted states.
    pub energy_drift: f64,
    /// Predicted frames per second of wall time.
    pub frames_per_s: f64,
}

/// Mean over objects of Σ over x, y of the squared difference.
fn squared_error(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    let se: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2))
        .sum();
    se / a.len().max(1) as f64
}

/// Rolls `model` out for `steps` frames from every `stride`-th frame of every trajectory whose
/// window fits, and scores positions and velocities (Σ over x, y, mean over objects) by horizon
/// and the drift of `energy`.
pub fn score_rollouts<T: ObjectTrajectory>(
    model: &dyn DeltaV<T::State>,
    data: &[T],
    energy: &dyn Fn(&T::State) -> f64,
    steps: usize,
    stride: usize,
    horizons: &[usize],
) -> Result<RolloutScores, RolloutError> {
    let (mut position, mut velocity) = (vec![0.0; steps], vec![0.0; steps]);
    let (mut windows, mut drift, mut frames) = (0usize, 0.0, 0usize);
    let clock = std::time::Instant::now();
    for traj in data {
        let mut start = 0;
        while start + steps < traj.n_frames() {
            let states = rollout(model, traj, start, steps)?;
            for (h, state) in states.iter().enumerate().skip(1) {
                let truth = traj.state(start + h);
                position[h - 1] += squared_error(state.positions(), truth.positions());
                velocity[h - 1] += squared_error(state.velocities(), truth.velocities());
            }
            let energies: Vec<f64> = states.iter().map(energy).collect();
            drift += energy_drift(&energies, energies[0]);
            windows += 1;
            frames += steps;
            start += stride.max(1);
        }
    }
    let seconds = clock.elapsed().as_secs_f64();
    let windows_f = windows.max(1) as f64;
    let by_horizon = |per_frame: &[f64]| -> Vec<(usize, f64)> {
        horizons
            .iter()
            .filter(|&&h| h >= 1 && h <= steps)
            .map(|&h| {
                (
                    h,
                    per_frame[..h].iter().sum::<f64>() / (h as f64 * windows_f),
                )
            })
            .collect()
    };
    Ok(RolloutScores {
        mse_by_horizon: by_horizon(&position),
        velocity_mse_by_horizon: by_horizon(&velocity),
        energy_drift: drift / windows_f,
        frames_per_s: frames as f64 / seconds.max(1e-9),
    })
}
