//! learnsim-train: one-step training of a learned simulator with GNS's recipe.
//!
//! Each step draws its windows and noise from an RNG seeded by `(seed, step)`, so a run killed
//! and resumed from a checkpoint replays exactly the batches an uninterrupted run would have.

mod case_configs;
mod config;
pub mod cosmology;
pub mod distributed;
mod ema;
mod fit;
pub mod glass;
mod host_adam;
pub mod koopman;
pub mod nanophotonics;
mod noise;
pub mod object_dynamics;
pub mod pdenet;
pub mod pendulum;
pub mod plasma;
mod replicas;
pub mod schnet;
pub mod tfnet;
pub mod tiers;
pub mod train_log;
mod trainer;
pub mod turbulence;
mod validate;

pub use config::{
    AccelerationOffset, Augmentation, FeatureUse, IMPACT_FACTOR, LrSchedule, MAX_PARAMETER_BYTES,
    NoiseCorrection, Pushforward, RigidTarget, TrainConfig, TrainKernel, WindowWeighting,
    parameter_bytes,
};
pub use ema::{WeightAverage, parameters as model_parameters};
pub use fit::{
    Checkpointing, EXPLODED, EpochChunks, EpochOrder, FirstValidation, FitPlan,
    Fitted as FitResult, Keep, LOG as TRAIN_LOG, Penalised, StepLoss, Validation, diverged, fit,
    saved_step,
};
pub use noise::random_walk_noise;
pub use object_dynamics::seeded_init;
pub use trainer::{ContactShare, LossPoint, TrainError, TrainState, Trainer, WindowCriterion};
pub use validate::{
    Bound, FieldError, Validate, count_in, learning_rates, network_memory, real_in, rule,
};
