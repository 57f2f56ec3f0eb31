//! Everything a training run needs, read from `configs/<case>.toml` and saved with the run.

use serde::{Deserialize, Serialize};

/// Training recipe and network sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of window sampling, noise and initialisation.
    pub seed: u64,
    /// Optimiser steps.
    pub steps: usize,
    /// Graphs per batch (GNS: 2).
    pub batch_size: usize,
    /// Learning rate at step 0.
    pub lr_initial: f64,
    /// Learning rate approached at the end.
    pub lr_final: f64,
    /// lr = (lr_initial − lr_final)·0.1^(step / lr_decay_steps) + lr_final.
    pub lr_decay_steps: f64,
    /// Random-walk noise σ at the last input velocity (per-frame units).
    pub noise_std: f64,
    /// Past velocities C.
    pub history: usize,
    /// Graph radius; `None` takes the dataset's `default_connectivity_radius`.
    pub connectivity_radius: Option<f64>,
    /// Particle-type embedding width.
    pub embedding_dim: usize,
    /// GNS latent width.
    pub latent: usize,
    /// Hidden layers per MLP.
    pub n_hidden: usize,
    /// Message-passing steps.
    pub message_passing_steps: usize,
    /// Validation every this many steps.
    pub validate_every: usize,
    /// Windows in a validation pass.
    pub validation_windows: usize,
    /// Checkpoint every this many steps (and at the end).
    pub checkpoint_every: usize,
    /// What computes the forward and backward passes (default: `auto`).
    #[serde(default)]
    pub kernel: TrainKernel,
}

/// What computes a GNS training step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainKernel {
    /// The fused CPU kernels on the default CPU build, burn on a GPU build (`wgpu`).
    #[default]
    Auto,
    /// burn's autodiff and Adam on the default device.
    Burn,
    /// learnsim's fused CPU kernels ([`FusedGnsModelTrainer`](learnsim_models::FusedGnsModelTrainer)):
    /// the same gradients (tested against burn's), several times faster on the CPU.
    Fused,
}

impl TrainKernel {
    /// Whether this resolves to the fused CPU kernels.
    pub fn is_fused(self) -> bool {
        match self {
            Self::Auto => learnsim_models::fused_cpu_inference(),
            Self::Burn => false,
            Self::Fused => true,
        }
    }
}

impl TrainConfig {
    /// The learning rate at `step`.
    pub fn learning_rate(&self, step: usize) -> f64 {
        exponential_decay(self.lr_initial, self.lr_final, self.lr_decay_steps, step)
    }
}

/// GNS's learning-rate schedule, shared by every trainer:
/// `(initial − final)·0.1^(step / decay_steps) + final`.
pub fn exponential_decay(initial: f64, last: f64, decay_steps: f64, step: usize) -> f64 {
    (initial - last) * 0.1f64.powf(step as f64 / decay_steps) + last
}
