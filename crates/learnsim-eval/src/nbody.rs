//! Scoring of n-body dynamics models (Interaction Network, MLP, constant velocity) on
//! ground-truth trajectories: one-step Δv error, autoregressive rollouts, position error by
//! horizon and energy drift.

use crate::energy_drift;
use crate::rollout::RolloutError;
use learnsim_sim::nbody::{Bodies, NBodyConfig, NBodyTrajectory};

/// A model of one frame's velocity change Δv = v_{t+1} − v_t.
pub trait DeltaV {
    /// Δv of every body of every system.
    ///
    /// # Shapes
    /// - returns: `[systems][N_system]`
    fn delta_v(&self, systems: &[&Bodies]) -> Vec<Vec<[f64; 2]>>;
}

/// The constant-velocity baseline: Δv = 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConstantVelocityDv;

impl DeltaV for ConstantVelocityDv {
    fn delta_v(&self, systems: &[&Bodies]) -> Vec<Vec<[f64; 2]>> {
        systems.iter().map(|b| vec![[0.0; 2]; b.len()]).collect()
    }
}

/// One-step Δv MSE: Σ over x, y of the squared error, averaged over bodies and over every
/// transition of `data` (the IN paper's one-step metric).
pub fn one_step_mse(model: &dyn DeltaV, data: &[NBodyTrajectory]) -> f64 {
    let (mut total, mut count) = (0.0, 0usize);
    for traj in data {
        let states: Vec<Bodies> = (0..traj.n_frames() - 1).map(|t| traj.bodies(t)).collect();
        let refs: Vec<&Bodies> = states.iter().collect();
        for (t, predicted) in model.delta_v(&refs).iter().enumerate() {
            for (i, p) in predicted.iter().enumerate() {
                let v0 = traj.velocity[t][i];
                let v1 = traj.velocity[t + 1][i];
                total += (p[0] - (v1[0] - v0[0])).powi(2) + (p[1] - (v1[1] - v0[1])).powi(2);
                count += 1;
            }
        }
    }
    total / count.max(1) as f64
}

/// Rolls `model` out for `steps` frames from frame `start` of `truth`: v_{t+1} = v_t + Δv,
/// x_{t+1} = x_t + Δt (v_t + v_{t+1}) / 2 (the trapezoidal rule, exact for constant
/// acceleration over the frame). Returns the `steps + 1` states, the first being the truth's.
pub fn rollout(
    model: &dyn DeltaV,
    truth: &NBodyTrajectory,
    start: usize,
    steps: usize,
) -> Result<Vec<Bodies>, RolloutError> {
    let mut states = vec![truth.bodies(start)];
    for step in 0..steps {
        let current = states.last().expect("non-empty");
        let dv = model.delta_v(&[current]).remove(0);
        let mut next = current.clone();
        for (i, d) in dv.iter().enumerate() {
            for k in 0..2 {
                let v1 = current.velocity[i][k] + d[k];
                next.position[i][k] += truth.frame_dt * 0.5 * (current.velocity[i][k] + v1);
                next.velocity[i][k] = v1;
            }
        }
        if let Some(i) = next
            .position
            .iter()
            .chain(&next.velocity)
            .position(|p| !p[0].is_finite() || !p[1].is_finite())
        {
            return Err(RolloutError::NonFinite {
                step: step + 1,
                frame: start + step + 1,
                particle: i % next.len().max(1),
            });
        }
        states.push(next);
    }
    Ok(states)
}

/// Rollout scores of one model over `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct NBodyRolloutScores {
    /// (H, position MSE averaged over predicted frames 1..=H and the windows).
    pub mse_by_horizon: Vec<(usize, f64)>,
    /// Mean over windows of max_t |E_t − E_0| / |E_0| of the predicted states.
    pub energy_drift: f64,
    /// Predicted frames per second of wall time.
    pub frames_per_s: f64,
}

/// Rolls `model` out for `steps` frames from every `stride`-th frame of every trajectory whose
/// window fits, and scores positions (Σ over x, y, mean over bodies) and energy drift.
pub fn score_rollouts(
    model: &dyn DeltaV,
    data: &[NBodyTrajectory],
    physics: &NBodyConfig,
    steps: usize,
    stride: usize,
    horizons: &[usize],
) -> Result<NBodyRolloutScores, RolloutError> {
    let mut per_frame = vec![0.0; steps];
    let (mut windows, mut drift, mut frames) = (0usize, 0.0, 0usize);
    let clock = std::time::Instant::now();
    for traj in data {
        let mut start = 0;
        while start + steps < traj.n_frames() {
            let states = rollout(model, traj, start, steps)?;
            for (h, state) in states.iter().enumerate().skip(1) {
                let truth = &traj.position[start + h];
                let se: f64 = state
                    .position
                    .iter()
                    .zip(truth)
                    .map(|(p, q)| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2))
                    .sum();
                per_frame[h - 1] += se / state.len() as f64;
            }
            let energies: Vec<f64> = states.iter().map(|s| physics.energy(s)).collect();
            drift += energy_drift(&energies, energies[0]);
            windows += 1;
            frames += steps;
            start += stride.max(1);
        }
    }
    let seconds = clock.elapsed().as_secs_f64();
    let windows_f = windows.max(1) as f64;
    let mse_by_horizon = horizons
        .iter()
        .filter(|&&h| h >= 1 && h <= steps)
        .map(|&h| {
            (
                h,
                per_frame[..h].iter().sum::<f64>() / (h as f64 * windows_f),
            )
        })
        .collect();
    Ok(NBodyRolloutScores {
        mse_by_horizon,
        energy_drift: drift / windows_f,
        frames_per_s: frames as f64 / seconds.max(1e-9),
    })
}
