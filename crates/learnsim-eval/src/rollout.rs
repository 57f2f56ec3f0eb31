//! The rollout engine: start from the first C + 1 true frames, predict the rest one frame at a
//! time, take kinematic particles from ground truth, stop and report at the first NaN.

use crate::rigid_fit::{points_2d, rigid_fit_2d, rigid_particles};
use burn::tensor::Device;
use learnsim_core::Trajectory;
use learnsim_models::{
    FusedGnsModel, LearnedSimulator, ParticleModel, default_inference_device, fused_cpu_inference,
};
use thiserror::Error;

/// A rollout that could not finish.
#[derive(Debug, Error, PartialEq)]
pub enum RolloutError {
    /// The prediction became NaN or infinite.
    #[error(
        "rollout blew up at step {step} (frame {frame}): non-finite position of particle {particle}"
    )]
    NonFinite {
        step: usize,
        frame: usize,
        particle: usize,
    },
    /// The trajectory is shorter than the warm-up.
    #[error("trajectory has {n_frames} frames; the rollout needs at least {needed}")]
    TooShort { n_frames: usize, needed: usize },
}

/// Anything that predicts frame t + 1 from frames ..= t.
pub trait FrameStepper {
    /// Frames of history the stepper reads (its warm-up is this many frames).
    fn warmup(&self) -> usize;
    /// Frame `target` `[N·D]` of `trajectory` from the past frames (oldest first, at least
    /// `warmup()`, the last being frame `target − 1`); the trajectory supplies kinds, kinematic
    /// motion and the per-frame context.
    fn next_frame(&mut self, past: &[&[f32]], trajectory: &Trajectory, target: usize) -> Vec<f32>;
}

/// A predicted trajectory next to its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// Frames given as input (copied from ground truth).
    pub warmup: usize,
    /// Predicted trajectory `[T, N, D]`, warm-up frames included.
    pub predicted: Trajectory,
    /// Wall-clock seconds spent predicting.
    pub seconds: f64,
}

/// Rolls `stepper` out over `truth` from its first `warmup()` frames to the end.
pub fn rollout(
    stepper: &mut (impl FrameStepper + ?Sized),
    truth: &Trajectory,
) -> Result<Rollout, RolloutError> {
    let warmup = stepper.warmup();
    rollout_after(stepper, truth, warmup)
}

/// [`rollout`] given the first `warmup` true frames (at least the stepper's own warm-up): so
/// that steppers of different warm-ups start predicting at the same frame, as the viewer's
/// player shows them.
pub fn rollout_after(
    stepper: &mut (impl FrameStepper + ?Sized),
    truth: &Trajectory,
    warmup: usize,
) -> Result<Rollout, RolloutError> {
    let history = stepper.warmup();
    assert!(
        warmup >= history,
        "a stepper reading {history} frames given {warmup}"
    );
    if truth.n_frames <= warmup {
        return Err(RolloutError::TooShort {
            n_frames: truth.n_frames,
            needed: warmup + 1,
        });
    }
    let per_frame = truth.n_particles * truth.dim;
    let mut frames: Vec<Vec<f32>> = (0..warmup).map(|t| truth.frame(t).to_vec()).collect();
    let start = std::time::Instant::now();
    for t in warmup..truth.n_frames {
        let past: Vec<&[f32]> = frames[t - history..t].iter().map(Vec::as_slice).collect();
        let mut next = stepper.next_frame(&past, truth, t);
        // Kinematic particles follow their prescribed (ground-truth) motion.
        for p in (0..truth.n_particles).filter(|&p| truth.kind[p].is_kinematic()) {
            next[p * truth.dim..(p + 1) * truth.dim]
                .copy_from_slice(&truth.frame(t)[p * truth.dim..(p + 1) * truth.dim]);
        }
        if let Some(k) = next.iter().position(|v| !v.is_finite()) {
            return Err(RolloutError::NonFinite {
                step: t - warmup + 1,
                frame: t,
                particle: k / truth.dim,
            });
        }
        debug_assert_eq!(next.len(), per_frame);
        frames.push(next);
    }
    let seconds = start.elapsed().as_secs_f64();
    let predicted = Trajectory {
        dim: truth.dim,
        n_frames: truth.n_frames,
        n_particles: truth.n_particles,
        position: frames.concat(),
        kind: truth.kind.clone(),
        material: truth.material.clone(),
        step_context: truth.step_context.clone(),
    };
    Ok(Rollout {
        warmup,
        predicted,
        seconds,
    })
}

/// A trained learned simulator (GNS or the equivariant network) as a [`FrameStepper`].
#[derive(Debug)]
pub struct LearnedStepper<'a> {
    /// Featurize/decode.
    pub simulator: &'a LearnedSimulator,
    /// The network.
    pub model: &'a ParticleModel,
    /// Where it runs.
    pub device: Device,
    /// The network copied into the fused CPU kernel, which then runs it instead of burn (a GNS
    /// only).
    pub fused: Option<FusedGnsModel>,
    /// Wall-clock seconds spent in each stage of every step so far.
    pub timing: StageSeconds,
    /// What the rollout does at the domain's walls.
    pub boundary: RolloutBoundary,
    /// What the rollout does with a rigid body's particles.
    pub rigid: RigidProjection,
}

/// What a learned rollout does with positions the network puts past a non-periodic wall.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RolloutBoundary {
    /// Nothing: the model's own positions (the bars are judged on these).
    #[default]
    Open,
    /// Clamped to the bounds, as the ground-truth solvers and the ballistic baseline do.
    ClampToDomain,
}

/// What a learned rollout does with the predicted particles of a rigid body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RigidProjection {
    /// Nothing: the model's own positions (the bars are judged on these).
    #[default]
    Off,
    /// Shape matching (DPI-Nets; GNS's BoxBath): after every step the rigid particles are
    /// replaced by the best rigid motion of the body's true shape (the ground truth's first
    /// frame of the window).
    ShapeMatching,
}

/// Seconds a learned rollout spent per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageSeconds {
    /// Radius graph of the last frame (cell-list neighbour search).
    pub neighbors: f64,
    /// Node and edge features.
    pub features: f64,
    /// The network.
    pub network: f64,
    /// Semi-implicit Euler to the next positions.
    pub decode: f64,
}

impl StageSeconds {
    /// All stages.
    pub fn total(&self) -> f64 {
        self.neighbors + self.features + self.network + self.decode
    }
}

impl<'a> LearnedStepper<'a> {
    /// A stepper on the default inference device, through the fused CPU kernel where
    /// [`fused_cpu_inference`] says so (the same function, about twice as fast).
    pub fn new(simulator: &'a LearnedSimulator, model: &'a ParticleModel) -> Self {
        Self {
            simulator,
            model,
            device: default_inference_device(),
            fused: fused_cpu_inference().then(|| model.fused()).flatten(),
            timing: StageSeconds::default(),
            boundary: RolloutBoundary::Open,
            rigid: RigidProjection::Off,
        }
    }

    /// The same stepper with another wall treatment.
    pub fn with_boundary(self, boundary: RolloutBoundary) -> Self {
        Self { boundary, ..self }
    }

    /// The same stepper with another treatment of rigid bodies.
    pub fn with_rigid_projection(self, rigid: RigidProjection) -> Self {
        Self { rigid, ..self }
    }
}

impl FrameStepper for LearnedStepper<'_> {
    fn warmup(&self) -> usize {
        self.simulator.config.history + 1
    }

    fn next_frame(&mut self, past: &[&[f32]], trajectory: &Trajectory, target: usize) -> Vec<f32> {
        let c = self.simulator.config.history;
        let window = &past[past.len() - (c + 1)..];
        let clock = std::time::Instant::now();
        let edges = self.simulator.radius_edges(window[c]);
        self.timing.neighbors += clock.elapsed().as_secs_f64();
        let clock = std::time::Instant::now();
        let extras = self.simulator.extras(trajectory, target - 1);
        let input = self
            .simulator
            .featurize_with_edges(window, &trajectory.kind, extras, &edges);
        self.timing.features += clock.elapsed().as_secs_f64();
        let clock = std::time::Instant::now();
        let acc: Vec<f32> = match &mut self.fused {
            Some(fused) => fused.forward(&input),
            None => self
                .model
                .forward(&input, &self.device)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 output"),
        };
        self.timing.network += clock.elapsed().as_secs_f64();
        let clock = std::time::Instant::now();
        let mut next = self.simulator.decode(&acc, window[c - 1], window[c]);
        if self.boundary == RolloutBoundary::ClampToDomain {
            let config = &self.simulator.config;
            for (k, x) in next.iter_mut().enumerate() {
                let a = k % config.dim;
                if !config.periodic[a] {
                    let [lo, hi] = config.bounds[a];
                    *x = x.clamp(lo as f32, hi as f32);
                }
            }
        }
        if self.rigid == RigidProjection::ShapeMatching && self.simulator.config.dim == 2 {
            let rigid = rigid_particles(&trajectory.kind);
            if !rigid.is_empty() {
                let period: Vec<Option<f64>> = self
                    .simulator
                    .config
                    .bounds
                    .iter()
                    .zip(&self.simulator.config.periodic)
                    .map(|([lo, hi], &p)| p.then_some(hi - lo))
                    .collect();
                let reference = points_2d(trajectory.frame(0), &rigid, &period);
                let fit = rigid_fit_2d(&reference, &points_2d(&next, &rigid, &period));
                for (&i, x) in rigid.iter().zip(fit) {
                    next[2 * i] = x[0] as f32;
                    next[2 * i + 1] = x[1] as f32;
                }
            }
        }
        self.timing.decode += clock.elapsed().as_secs_f64();
        next
    }
}
