//! learnsim-eval: autoregressive rollouts of any stepper, baselines and metrics.
//!
//! A [`FrameStepper`] predicts the next frame from the frames so far; learned simulators and
//! baselines implement it alike, so the rollout engine and the timing treat them the same way.

mod baselines;
mod metrics;
mod rollout;

pub use baselines::{Ballistic, ConstantVelocity};
pub use metrics::{HORIZONS, escaped_fraction, mse_at_horizons};
pub use rollout::{FrameStepper, LearnedStepper, Rollout, RolloutError, rollout};
