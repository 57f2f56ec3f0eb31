//! The evaluation protocol every case and model is judged by: rollouts from several start
//! times of each test trajectory, scored at fixed horizons against ground truth.
//!
//! Why several start times: the MPM scenes start with blocks in free flight, where the ballistic
//! baseline is exact, so a rollout scored only from frame 0 measures nothing but the first
//! frames of a fall. Windows starting every `window_stride` frames cover impacts, splashes and
//! settling alike. The window from frame 0 runs to the end of the trajectory and gives the
//! full-rollout metrics; the others run `max_horizon` steps.

use crate::metrics::{frame_kinetic_energy, frame_mae, frame_mse};
use crate::rigid_fit::{points_2d, reference_shape, rigid_particles, shape_error_2d};
use crate::{FrameStepper, HORIZONS, RolloutError, Sinkhorn, escaped_fraction, rollout};
use learnsim_core::{Metadata, Trajectory};
use std::collections::BTreeMap;
use std::time::Instant;
use thiserror::Error;

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

impl Protocol {
    /// The protocol with only the window from frame 0 (to the end of each trajectory): what
    /// rollouts made elsewhere, which start from frame 0 only, can be scored on, and the
    /// baselines beside them.
    pub fn from_start(context: usize) -> Self {
        Self {
            context,
            window_stride: usize::MAX,
            ..Self::default()
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
    /// Wall-clock seconds spent computing the metrics of its rollouts, Sinkhorn included
    /// (the ground truth's shared Sinkhorn self terms are counted once, on the first stepper).
    pub metrics_seconds: f64,
    /// The part of `metrics_seconds` spent in the Sinkhorn solver.
    pub sinkhorn_seconds: f64,
}

impl Scores {
    /// Predicted frames per wall-clock second.
    pub fn frames_per_s(&self) -> f64 {
        self.predicted_frames as f64 / self.seconds.max(1e-12)
    }
}

/// A rollout of one of the steppers scored by [`score_all`] failed.
#[derive(Debug, Error, PartialEq)]
#[error("{source}")]
pub struct StepperFailed {
    /// Index of the stepper in the slice.
    pub stepper: usize,
    /// What went wrong.
    pub source: RolloutError,
}

/// How far an evaluation has got: `done` of `total` (window, stepper) rollouts scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Rollouts scored so far.
    pub done: usize,
    /// Rollouts in all: windows × steppers.
    pub total: usize,
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
///   widened by `escape_slack`;
/// - `rigid_shape_H`, `rigid_shape_full` (2D cases with a rigid body only): RMS distance of the
///   predicted rigid particles from the best rigid motion of the body's true shape at the
///   window's last context frame ([`crate::rigid_fit`]), averaged like `mse_H`.
///
/// Kinematic particles are excluded from every metric (they are copied from ground truth).
pub fn score(
    stepper: &mut impl FrameStepper,
    truths: &[Trajectory],
    metadata: &Metadata,
    protocol: &Protocol,
) -> Result<Scores, RolloutError> {
    let mut scores = score_all(
        &mut [stepper as &mut dyn FrameStepper],
        truths,
        metadata,
        protocol,
        &mut |_| {},
    )
    .map_err(|e| e.source)?;
    Ok(scores.remove(0))
}

/// [`score`] for several steppers on the same windows, which share the ground truth's side of
/// every metric (its Sinkhorn self terms above all); `progress` hears after every rollout.
///
/// Every stepper's first predicted frame of a window starting at s is s + context, with the
/// context the largest of `protocol.context` and the steppers' warm-ups.
pub fn score_all(
    steppers: &mut [&mut dyn FrameStepper],
    truths: &[Trajectory],
    metadata: &Metadata,
    protocol: &Protocol,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Scores>, StepperFailed> {
    let scorer = WindowScorer::new(metadata, protocol);
    let context = steppers
        .iter()
        .map(|s| s.warmup())
        .fold(protocol.context, usize::max);
    let window_starts = |truth: &Trajectory| {
        (0..truth.n_frames.saturating_sub(context))
            .step_by(protocol.window_stride.max(1))
            .collect::<Vec<usize>>()
    };
    let total = truths.iter().map(|t| window_starts(t).len()).sum::<usize>() * steppers.len();
    let mut done = 0;
    let mut means: Vec<BTreeMap<String, Mean>> = steppers.iter().map(|_| BTreeMap::new()).collect();
    let mut scores: Vec<Scores> = steppers.iter().map(|_| Scores::default()).collect();
    for truth in truths {
        let moving = moving_particles(truth);
        for start in window_starts(truth) {
            let end = if start == 0 {
                truth.n_frames
            } else {
                (start + context + protocol.max_horizon).min(truth.n_frames)
            };
            // OT_ε(truth, truth) at each Sinkhorn horizon, computed by the first stepper that
            // needs it and shared by the others.
            let mut truth_self: BTreeMap<usize, f64> = BTreeMap::new();
            for (k, stepper) in steppers.iter_mut().enumerate() {
                let warmup = stepper.warmup();
                let offset = start + context - warmup;
                let window = truth.window(offset, end);
                // Report a blow-up at its frame of the whole trajectory, not of the window.
                let r = rollout(&mut **stepper, &window).map_err(|e| StepperFailed {
                    stepper: k,
                    source: match e {
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
                    },
                })?;
                let scores = &mut scores[k];
                scores.predicted_frames += end - start - context;
                scores.seconds += r.seconds;
                scorer.add(
                    Window {
                        predicted: &r.predicted,
                        truth: &window,
                        warmup,
                        span: if start == 0 {
                            Span::WholeTrajectory
                        } else {
                            Span::Part
                        },
                    },
                    &moving,
                    &mut truth_self,
                    &mut means[k],
                    scores,
                );
                done += 1;
                progress(Progress { done, total });
            }
        }
    }
    for (scores, means) in scores.iter_mut().zip(means) {
        scores.metrics = averaged(means);
    }
    Ok(scores)
}

/// Scores predicted trajectories made elsewhere (another code's rollouts, read from its files)
/// exactly as [`score_all`] scores a stepper's window from frame 0: `predicted[i]` is test
/// trajectory `truths[i]` rolled out from its first `protocol.context` frames to its end, those
/// frames included and equal to the truth's. Only that window exists for such rollouts, so the
/// windowed metrics (`mse_20` …) come from frame 0 alone; score the baselines with
/// [`Protocol::from_start`] to compare like with like.
///
/// # Shapes
/// `predicted[i]` has the frames, particles and dimension of `truths[i]`.
pub fn score_predictions(
    predicted: &[Trajectory],
    truths: &[Trajectory],
    metadata: &Metadata,
    protocol: &Protocol,
) -> Scores {
    assert_eq!(
        predicted.len(),
        truths.len(),
        "one prediction per trajectory"
    );
    let scorer = WindowScorer::new(metadata, protocol);
    let mut means = BTreeMap::new();
    let mut scores = Scores::default();
    for (p, truth) in predicted.iter().zip(truths) {
        assert!(
            p.n_frames == truth.n_frames
                && p.n_particles == truth.n_particles
                && p.dim == truth.dim,
            "a prediction shaped like its trajectory"
        );
        if truth.n_frames <= protocol.context {
            continue;
        }
        scores.predicted_frames += truth.n_frames - protocol.context;
        scorer.add(
            Window {
                predicted: p,
                truth,
                warmup: protocol.context,
                span: Span::WholeTrajectory,
            },
            &moving_particles(truth),
            &mut BTreeMap::new(),
            &mut means,
            &mut scores,
        );
    }
    scores.metrics = averaged(means);
    scores
}

fn averaged(means: BTreeMap<String, Mean>) -> BTreeMap<String, f64> {
    means
        .into_iter()
        .map(|(k, m)| {
            if k == "windows" {
                (k, m.count as f64)
            } else {
                (k, m.value())
            }
        })
        .collect()
}

/// The particles every metric reads: all but the kinematic ones.
fn moving_particles(truth: &Trajectory) -> Vec<usize> {
    (0..truth.n_particles)
        .filter(|&i| !truth.kind[i].is_kinematic())
        .collect()
}

/// Whether a window runs from frame 0 to the end (and so also gives the `_full` metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    WholeTrajectory,
    Part,
}

/// One rolled-out window and its ground truth.
struct Window<'a> {
    /// `[T, N, D]`, the first `warmup` frames copied from `truth`.
    predicted: &'a Trajectory,
    truth: &'a Trajectory,
    warmup: usize,
    span: Span,
}

/// The metrics of one window, added to a stepper's running means.
struct WindowScorer<'a> {
    metadata: &'a Metadata,
    protocol: &'a Protocol,
    period: Vec<Option<f64>>,
    sinkhorn: Option<Sinkhorn>,
}

impl<'a> WindowScorer<'a> {
    fn new(metadata: &'a Metadata, protocol: &'a Protocol) -> Self {
        let period: Vec<Option<f64>> = metadata
            .bounds
            .iter()
            .zip(&metadata.periodic_boundary_conditions)
            .map(|([lo, hi], &p)| p.then_some(hi - lo))
            .collect();
        let sinkhorn = (!protocol.sinkhorn_horizons.is_empty())
            .then(|| Sinkhorn::new(metadata.dim, &period, metadata.dx.powi(2)));
        Self {
            metadata,
            protocol,
            period,
            sinkhorn,
        }
    }

    /// Adds `window`'s metrics to `means` and the time they took to `scores`; `truth_self`
    /// holds the truth's Sinkhorn self terms by horizon, shared by the steppers of a window.
    fn add(
        &self,
        window: Window,
        moving: &[usize],
        truth_self: &mut BTreeMap<usize, f64>,
        means: &mut BTreeMap<String, Mean>,
        scores: &mut Scores,
    ) {
        let clock = Instant::now();
        let mut sinkhorn_seconds = 0.0;
        let mut add = |key: String, v: f64| means.entry(key).or_default().add(v);
        let (p, q, warmup) = (window.predicted, window.truth, window.warmup);
        let period = &self.period;
        let pick = |x: &Trajectory, t: usize| -> Vec<f32> {
            moving
                .iter()
                .flat_map(|&i| x.frame(t)[i * x.dim..(i + 1) * x.dim].to_vec())
                .collect()
        };
        let frames = warmup..q.n_frames;
        let mse: Vec<f64> = frames
            .clone()
            .map(|t| frame_mse(p.frame(t), q.frame(t), q.dim, moving, period))
            .collect();
        let mae: Vec<f64> = frames
            .clone()
            .map(|t| frame_mae(p.frame(t), q.frame(t), q.dim, moving, period))
            .collect();
        let ke = |x: &Trajectory, t: usize| {
            frame_kinetic_energy(
                x.frame(t - 1),
                x.frame(t),
                x.dim,
                moving,
                period,
                self.metadata.dt,
            )
        };
        let ke_err: Vec<f64> = frames
            .clone()
            .map(|t| (ke(p, t) - ke(q, t)).powi(2))
            .collect();
        let shape: Option<Vec<f64>> =
            reference_shape(q, warmup.saturating_sub(1), period).map(|reference| {
                let rigid = rigid_particles(&q.kind);
                frames
                    .map(|t| shape_error_2d(&reference, &points_2d(p.frame(t), &rigid, period)))
                    .collect()
            });
        let mean_first = |v: &[f64], h: usize| v[..h].iter().sum::<f64>() / h as f64;
        let n = mse.len();
        for h in HORIZONS.into_iter().filter(|&h| h <= n) {
            add(format!("mse_{h}"), mean_first(&mse, h));
            add(format!("mae_{h}"), mean_first(&mae, h));
            add(format!("ke_mse_{h}"), mean_first(&ke_err, h));
            if let Some(shape) = &shape {
                add(format!("rigid_shape_{h}"), mean_first(shape, h));
            }
        }
        if let Some(sinkhorn) = &self.sinkhorn {
            let clock = Instant::now();
            for &h in self.protocol.sinkhorn_horizons.iter().filter(|&&h| h <= n) {
                let t = warmup + h - 1;
                let (predicted, true_cloud) = (pick(p, t), pick(q, t));
                let own = *truth_self
                    .entry(h)
                    .or_insert_with(|| sinkhorn.self_term(&true_cloud));
                let s = sinkhorn.divergence_given(&predicted, &true_cloud, None, Some(own));
                add(format!("sinkhorn_{h}"), s);
            }
            sinkhorn_seconds = clock.elapsed().as_secs_f64();
        }
        if window.span == Span::WholeTrajectory {
            add("mse_full".into(), mean_first(&mse, n));
            add("mae_full".into(), mean_first(&mae, n));
            add("ke_mse_full".into(), mean_first(&ke_err, n));
            if let Some(shape) = &shape {
                add("rigid_shape_full".into(), mean_first(shape, n));
            }
            add(
                "escaped_fraction".into(),
                escaped_fraction(
                    p,
                    &self.metadata.bounds,
                    &self.metadata.periodic_boundary_conditions,
                    self.protocol.escape_slack,
                ),
            );
        }
        add("windows".into(), 1.0);
        scores.sinkhorn_seconds += sinkhorn_seconds;
        scores.metrics_seconds += clock.elapsed().as_secs_f64();
    }
}
