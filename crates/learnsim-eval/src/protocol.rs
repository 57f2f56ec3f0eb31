//! The evaluation protocol every case and model is judged by: rollouts from several start
//! times of each test trajectory, scored at fixed horizons against ground truth.
//!
//! Why several start times: the MPM scenes start with blocks in free flight, where the ballistic
//! baseline is exact, so a rollout scored only from frame 0 measures nothing but the first
//! frames of a fall. Windows starting every `window_stride` frames cover impacts, splashes and
//! settling alike. The window from frame 0 runs to the end of the trajectory and gives the
//! full-rollout metrics; the others run `max_horizon` steps.

use crate::metrics::{frame_kinetic_energy, frame_mae, frame_mse};
use crate::{FrameStepper, HORIZONS, RolloutError, escaped_fraction, rollout, sinkhorn_divergence};
use learnsim_core::{Metadata, Trajectory};
use std::collections::BTreeMap;

/// How rollouts are started and scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    /// True frames every window starts with; the first predicted frame of a window starting at
    /// s is s + context for every stepper, so models and baselines are scored on the same
    /// frames (a stepper reading fewer frames is handed the latest of them).
    pub context: usize,
    /// Frames between the start times of successive windows.
    pub window_stride: usize,
    /// Predicted steps of every window but the first (which runs to the end).
    pub max_horizon: usize,
    /// Horizons at which the Sinkhorn divergence is computed (it costs O(N²) per frame).
    pub sinkhorn_horizons: Vec<usize>,
    /// Widening of the bounds before a particle counts as escaped.
    pub escape_slack: f64,
}

impl Default for Protocol {
    fn default() -> Self {
        Self {
            context: 6,
            window_stride: 40,
            max_horizon: 100,
            sinkhorn_horizons: vec![1, 20, 100],
            escape_slack: 0.01,
        }
    }
}

/// Mean metrics of one stepper over a set of trajectories, with the time it took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Metric name → value; names are documented on [`score`].
    pub metrics: BTreeMap<String, f64>,
    /// Frames the stepper predicted.
    pub predicted_frames: usize,
    /// Wall-clock seconds the stepper spent predicting them.
    pub seconds: f64,
}

impl Scores {
    /// Predicted frames per wall-clock second.
    pub fn frames_per_s(&self) -> f64 {
        self.predicted_frames as f64 / self.seconds.max(1e-12)
    }
}

#[derive(Default)]
struct Mean {
    sum: f64,
    count: usize,
}

impl Mean {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
    }
    fn value(&self) -> f64 {
        self.sum / self.count.max(1) as f64
    }
}

/// Rolls `stepper` out over every window of every trajectory and averages the metrics:
///
/// - `mse_H`, `mae_H`: position error averaged over the first H predicted frames (per
///   coordinate for MAE, summed over axes for MSE as in GNS), mean over windows long enough;
/// - `ke_mse_H`: squared error of the kinetic energy per unit mass, E = Σ ½ mᵢ|vᵢ|² with
///   mᵢ = 1/N and v from frame differences over `metadata.dt`, averaged like `mse_H`;
/// - `sinkhorn_H`: Sinkhorn divergence of the clouds at predicted frame H, ε = dx²;
/// - `mse_full`, `mae_full`, `ke_mse_full`: over the whole rollout from frame 0;
/// - `escaped_fraction`: share of (frame, particle) pairs of that rollout outside the bounds
///   widened by `escape_slack`.
///
/// Kinematic particles are excluded from every metric (they are copied from ground truth).
pub fn score(
    stepper: &mut impl FrameStepper,
    truths: &[Trajectory],
    metadata: &Metadata,
    protocol: &Protocol,
) -> Result<Scores, RolloutError> {
    let period: Vec<Option<f64>> = metadata
        .bounds
        .iter()
        .zip(&metadata.periodic_boundary_conditions)
        .map(|([lo, hi], &p)| p.then_some(hi - lo))
        .collect();
    let warmup = stepper.warmup();
    let context = protocol.context.max(warmup);
    let mut means: BTreeMap<String, Mean> = BTreeMap::new();
    let mut add = |key: String, v: f64| means.entry(key).or_default().add(v);
    let mut scores = Scores::default();
    for truth in truths {
        let moving: Vec<usize> = (0..truth.n_particles)
            .filter(|&i| !truth.kind[i].is_kinematic())
            .collect();
        let mut start = 0;
        while start + context < truth.n_frames {
            let end = if start == 0 {
                truth.n_frames
            } else {
                (start + context + protocol.max_horizon).min(truth.n_frames)
            };
            let offset = start + context - warmup;
            let window = truth.window(offset, end);
            // Report a blow-up at its frame of the whole trajectory, not of the window.
            let r = rollout(stepper, &window).map_err(|e| match e {
                RolloutError::NonFinite {
                    step,
                    frame,
                    particle,
                } => RolloutError::NonFinite {
                    step,
                    frame: frame + offset,
                    particle,
                },
                other => other,
            })?;
            scores.predicted_frames += end - start - context;
            scores.seconds += r.seconds;
            let (p, q) = (&r.predicted, &window);
            let frames = warmup..q.n_frames;
            let mse: Vec<f64> = frames
                .clone()
                .map(|t| frame_mse(p.frame(t), q.frame(t), q.dim, &moving, &period))
                .collect();
            let mae: Vec<f64> = frames
                .clone()
                .map(|t| frame_mae(p.frame(t), q.frame(t), q.dim, &moving, &period))
                .collect();
            let ke = |x: &Trajectory, t: usize| {
                frame_kinetic_energy(
                    x.frame(t - 1),
                    x.frame(t),
                    x.dim,
                    &moving,
                    &period,
                    metadata.dt,
                )
            };
            let ke_err: Vec<f64> = frames.map(|t| (ke(p, t) - ke(q, t)).powi(2)).collect();
            let mean_first = |v: &[f64], h: usize| v[..h].iter().sum::<f64>() / h as f64;
            let n = mse.len();
            for h in HORIZONS.into_iter().filter(|&h| h <= n) {
                add(format!("mse_{h}"), mean_first(&mse, h));
                add(format!("mae_{h}"), mean_first(&mae, h));
                add(format!("ke_mse_{h}"), mean_first(&ke_err, h));
            }
            for &h in protocol.sinkhorn_horizons.iter().filter(|&&h| h <= n) {
                let t = warmup + h - 1;
                let pick = |x: &Trajectory| -> Vec<f32> {
                    moving
                        .iter()
                        .flat_map(|&i| x.frame(t)[i * x.dim..(i + 1) * x.dim].to_vec())
                        .collect()
                };
                let s =
                    sinkhorn_divergence(&pick(p), &pick(q), q.dim, &period, metadata.dx.powi(2));
                add(format!("sinkhorn_{h}"), s);
            }
            if start == 0 {
                add("mse_full".into(), mean_first(&mse, n));
                add("mae_full".into(), mean_first(&mae, n));
                add("ke_mse_full".into(), mean_first(&ke_err, n));
                add(
                    "escaped_fraction".into(),
                    escaped_fraction(
                        p,
                        &metadata.bounds,
                        &metadata.periodic_boundary_conditions,
                        protocol.escape_slack,
                    ),
                );
            }
            add("windows".into(), 1.0);
            start += protocol.window_stride.max(1);
        }
    }
    scores.metrics = means
        .into_iter()
        .map(|(k, m)| {
            if k == "windows" {
                (k, m.count as f64)
            } else {
                (k, m.value())
            }
        })
        .collect();
    Ok(scores)
}
