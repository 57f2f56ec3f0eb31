//! learnsim-eval: autoregressive rollouts of any stepper, baselines, metrics and the evaluation
//! protocol every case is judged by.
//!
//! A [`FrameStepper`] predicts the next frame from the frames so far; learned simulators and
//! baselines implement it alike, so the rollout engine, the metrics and the timing treat them
//! the same way.

mod baselines;
mod metrics;
pub mod object_dynamics;
mod protocol;
pub mod rigid_fit;
mod rollout;
mod sinkhorn;

pub use baselines::{Ballistic, ConstantVelocity, Persistence};
pub use metrics::{
    HORIZONS, energy_drift, escaped_fraction, frame_kinetic_energy, frame_mae, frame_mse,
    mse_at_horizons, pearson,
};
pub use protocol::{
    Progress, Protocol, Scores, StepperFailed, score, score_all, score_predictions,
};
pub use rollout::{
    FrameStepper, LearnedStepper, RigidProjection, Rollout, RolloutBoundary, RolloutError,
    StageSeconds, rollout, rollout_after,
};
pub use sinkhorn::{
    KernelMode, MAX_ITERATIONS_AT_TARGET, Sinkhorn, reference as sinkhorn_reference,
    sinkhorn_divergence,
};
