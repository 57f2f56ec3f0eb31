//! Everything a training run needs, read from `configs/<case>.toml` and saved with the run.

use crate::validate::{Bound, FieldError, Validate, count_in, learning_rates, real_in, rule};
use learnsim_models::{Architecture, WallNodes};
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
    /// Learning rate reached at the last step.
    pub lr_final: f64,
    /// How the rate goes from `lr_initial` to `lr_final` over `steps` (default: exponential).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// GNS's own formula, `(lr_initial − lr_final)·0.1^(step / lr_decay_steps) + lr_final`,
    /// which reaches `lr_final` only asymptotically (with `lr_decay_steps = steps` it ends at
    /// about 0.1·lr_initial). Kept so that runs saved with it resume unchanged; when set it
    /// replaces `lr_schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_decay_steps: Option<f64>,
    /// Exponential moving average of the weights, `ema ← d·ema + (1 − d)·w` after every step;
    /// validation, checkpoints' inference weights and rollouts use it. 0 turns it off.
    #[serde(default)]
    pub ema_decay: f64,
    /// Random-walk noise σ at the last input velocity (per-frame units).
    pub noise_std: f64,
    /// Past velocities C.
    pub history: usize,
    /// Graph radius; `None` takes the dataset's `default_connectivity_radius`.
    pub connectivity_radius: Option<f64>,
    /// Distance over which the wall features saturate, in units of the radius: the features
    /// are distance / (wall_horizon · R) clipped to [−1, 1]. GNS: 1.
    #[serde(default = "one")]
    pub wall_horizon: f64,
    /// How the walls appear in the graph besides the distance features: `"none"` (GNS) or
    /// `"mirror"` (each particle within R of a wall also appears as its mirror image across
    /// it, a kinematic node that sends edges to the particles near it).
    #[serde(default)]
    pub wall_nodes: WallNodes,
    /// Pushforward training (Brandstetter et al. 2022): sometimes train on the model's own
    /// unrolled prediction. Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushforward: Option<Pushforward>,
    /// How training windows are drawn (default: uniformly).
    #[serde(default)]
    pub window_weighting: WindowWeighting,
    /// Symmetry augmentation of the training windows (default: none, as GNS).
    #[serde(default, skip_serializing_if = "Augmentation::is_none")]
    pub augmentation: Augmentation,
    /// What a zero network output means (default: the data's mean acceleration, as GNS).
    #[serde(default)]
    pub acceleration_offset: AccelerationOffset,
    /// Weight of a rigid body's particles in the loss, relative to the other predicted
    /// particles' 1 (the loss is the weighted mean, `Σ w·(y − t)² / Σ w`). Default 1, as GNS;
    /// a box of 64 particles in a bath of a thousand otherwise makes 6 % of the loss.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub rigid_loss_weight: f64,
    /// Whether the target undoes the input noise (default: the velocity's, as GNS).
    #[serde(default, skip_serializing_if = "NoiseCorrection::is_velocity")]
    pub noise_correction: NoiseCorrection,
    /// What the target asks of a rigid body's noisy particles (default: what it asks of every
    /// particle, as GNS).
    #[serde(default, skip_serializing_if = "RigidTarget::is_keep_noise")]
    pub rigid_target: RigidTarget,
    /// The network: `"gns"` (default) or `"egnn"`, the E(n)-equivariant network, which trains
    /// through burn (`kernel = "auto"` or `"burn"`) with isotropic normalisation.
    #[serde(default, skip_serializing_if = "Architecture::is_gns")]
    pub model: Architecture,
    /// Vector channels of the equivariant network's node state (default 16; GNS ignores it).
    #[serde(default = "sixteen", skip_serializing_if = "is_sixteen")]
    pub vector_channels: usize,
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
    /// Which of the dataset's optional features the model reads (default: every one it has).
    #[serde(default)]
    pub features: FeatureUse,
}

fn one() -> f64 {
    1.0
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

fn sixteen() -> usize {
    16
}

fn is_sixteen(x: &usize) -> bool {
    *x == 16
}

fn yes() -> bool {
    true
}

/// The dataset's optional features a GNS reads when the dataset has them (`[features]` in the
/// config): geoelements' material property appended to every node, DeepMind's step context
/// broadcast to every node. Each defaults to on; `false` trains without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureUse {
    /// Read `material_property` when the dataset has it.
    #[serde(default = "yes")]
    pub material_property: bool,
    /// Read `step_context` when the dataset has it.
    #[serde(default = "yes")]
    pub step_context: bool,
}

impl Default for FeatureUse {
    fn default() -> Self {
        Self {
            material_property: true,
            step_context: true,
        }
    }
}

/// The learning-rate schedule from `lr_initial` at step 0 to `lr_final` at the last step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// Geometric: `lr_initial·(lr_final/lr_initial)^(step/(steps − 1))`.
    #[default]
    Exponential,
    /// Half a cosine: `lr_final + ½(lr_initial − lr_final)(1 + cos(π·step/(steps − 1)))`.
    Cosine,
}

impl LrSchedule {
    /// The rate at `step` of `steps`; `lr_final` at `steps − 1` and beyond.
    pub fn rate(self, initial: f64, last: f64, step: usize, steps: usize) -> f64 {
        let progress = (step as f64 / steps.saturating_sub(1).max(1) as f64).min(1.0);
        match self {
            Self::Exponential => initial * (last / initial).powf(progress),
            Self::Cosine => {
                last + 0.5 * (initial - last) * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

/// Pushforward training: with probability `probability`, from `start_step` on, the model is
/// unrolled `steps` times without gradient from the noisy input window, and the loss asks it to
/// reach the true frame after that unroll from its own predicted positions (Brandstetter,
/// Worrall & Welling 2022, "Message passing neural PDE solvers", §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pushforward {
    /// Share of training examples that are unrolled, in [0, 1].
    pub probability: f64,
    /// Model steps unrolled without gradient (at least 1).
    pub steps: usize,
    /// First optimiser step at which unrolling may happen (the model must first be useful).
    pub start_step: usize,
}

/// Symmetry augmentation of training windows: `augmentation = "reflect-x"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Augmentation {
    /// Windows as they are in the data (GNS).
    #[default]
    None,
    /// Each training window, with probability ½, mirrored across the box's vertical mid-line
    /// (x → lo + hi − x in every frame, target included): an exact symmetry of a scene whose
    /// walls are mirror images and whose gravity is vertical, which a GNS otherwise learns only
    /// from data. Validation windows are never mirrored.
    ReflectX,
}

impl Augmentation {
    /// No augmentation.
    pub fn is_none(&self) -> bool {
        *self == Self::None
    }
}

/// How training windows are drawn from the training trajectories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum WindowWeighting {
    /// Every (trajectory, frame) window equally likely, as GNS.
    #[default]
    Uniform,
    /// Window weight `1 + boost·s`, where `s` is the share of the target frame's free particles
    /// in contact: within three radii of a wall, or with an acceleration that differs from
    /// free fall (`|a − g·dt²| > ½|g|·dt²`, or one acceleration std where there is no gravity).
    Contact {
        /// Extra weight of a window whose every particle is in contact.
        boost: f64,
    },
    /// Window weight `1 + boost·s`, where `s` is the share of the target frame's free particles
    /// in an impact: an acceleration that differs from free fall by more than
    /// `IMPACT_FACTOR·|g|·dt²` (or that many acceleration stds where there is no gravity). A
    /// particle resting on the floor differs from free fall by exactly `|g|·dt²`, so unlike
    /// `Contact` a pool at rest does not count: only landings, splashes and flows do.
    Impact {
        /// Extra weight of a window whose every particle is in an impact.
        boost: f64,
    },
}

/// How far from free fall a particle's acceleration must be, in units of `|g|·dt²`, to count
/// as an impact for `WindowWeighting::Impact`: four times what resting on the floor takes.
pub const IMPACT_FACTOR: f64 = 4.0;

impl WindowWeighting {
    /// The extra weight of a fully weighted window, `None` for uniform sampling.
    pub fn boost(&self) -> Option<f64> {
        match *self {
            Self::Uniform => None,
            Self::Contact { boost } | Self::Impact { boost } => Some(boost),
        }
    }
}

/// What the training target does with the random-walk noise on the input positions:
/// `noise_correction = "..."`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseCorrection {
    /// GNS: the target position is the true next position plus the last input's noise, so the
    /// decoded velocity is the true one and the model learns to undo the last input velocity's
    /// noise.
    #[default]
    Velocity,
    /// The target acceleration is the true one whatever the noise (Stachenfeld et al. 2022's
    /// input noise): the noise only teaches robustness, and free fall's target is exactly g.
    /// Under pushforward the same holds for the model's own unrolled positions. On
    /// water-drop-2d the model then learnt no gravity at all (docs/water-drop.md).
    Uncorrected,
}

impl NoiseCorrection {
    /// GNS's correction.
    pub fn is_velocity(&self) -> bool {
        *self == Self::Velocity
    }
}

/// The target of a rigid body's particles under training noise: `rigid_target = "..."`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RigidTarget {
    /// As every particle's (GNS): the true next position plus the last input's noise. The
    /// noise deforms the body, and the target keeps the deformation, so the model learns to
    /// leave a deformed body deformed: in a rollout its own errors deform the body and
    /// nothing undoes them.
    #[default]
    KeepNoise,
    /// The true next position plus only the rigid part of the last input's noise: the best
    /// rigid motion (2D Procrustes) of the body's true particles onto its noisy ones, minus
    /// the true positions. The model learns to keep the body's motion as the noise moved it,
    /// and to undo the deformation, which the data never show (2D data only).
    Rigid,
}

impl RigidTarget {
    /// GNS's target.
    pub fn is_keep_noise(&self) -> bool {
        *self == Self::KeepNoise
    }
}

/// The acceleration a zero network output decodes to: the offset of the normalised target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccelerationOffset {
    /// The dataset's mean per-frame acceleration (GNS). In a scene that starts and ends at
    /// rest the floor's impulse cancels gravity's, so this mean is near zero and free fall is
    /// a small constant the network must learn.
    #[default]
    Data,
    /// Free fall, `g·dt²` per frame from the metadata's gravity: the network predicts what a
    /// particle's surroundings add to gravity, and a particle alone falls exactly.
    Gravity,
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
    /// Whether this resolves to the fused CPU kernels for `model` (which exist for GNS only).
    pub fn is_fused_for(self, model: Architecture) -> bool {
        model.is_gns() && self.is_fused()
    }

    /// Whether this resolves to the fused CPU kernels for a GNS.
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
        match self.lr_decay_steps {
            Some(decay_steps) => {
                exponential_decay(self.lr_initial, self.lr_final, decay_steps, step)
            }
            None => self
                .lr_schedule
                .rate(self.lr_initial, self.lr_final, step, self.steps),
        }
    }
}

/// Memory a GNS of this size needs for its weights, gradients and Adam moments, in bytes: each
/// of the `2·message_passing_steps + 3` MLPs (encoders, processor blocks, decoder) has at most
/// `3·latent` inputs and `n_hidden + 1` layers of `latent` outputs; four f32 copies of each.
pub fn parameter_bytes(config: &TrainConfig) -> f64 {
    let latent = config.latent as f64;
    let mlps = 2.0 * config.message_passing_steps as f64 + 3.0;
    let per_mlp = (config.n_hidden as f64 + 1.0) * (3.0 * latent + 1.0) * latent;
    4.0 * 4.0 * mlps * per_mlp
}

/// The most memory [`parameter_bytes`] may ask for: 16 GiB, two thirds of the CPU machines'.
pub const MAX_PARAMETER_BYTES: f64 = 16.0 * 1024.0 * 1024.0 * 1024.0;

impl Validate for TrainConfig {
    fn validate(&self) -> Result<(), FieldError> {
        count_in("steps", self.steps, 1, 1_000_000_000)?;
        count_in("batch_size", self.batch_size, 1, 1024)?;
        learning_rates(self.lr_initial, self.lr_final)?;
        if let Some(d) = self.lr_decay_steps {
            real_in("lr_decay_steps", d, 0.0, 1e12, Bound::Exclusive)?;
        }
        real_in(
            "ema_decay",
            self.ema_decay,
            0.0,
            0.999_999,
            Bound::Inclusive,
        )?;
        real_in("noise_std", self.noise_std, 0.0, 1.0, Bound::Inclusive)?;
        count_in("history", self.history, 1, 100)?;
        if let Some(r) = self.connectivity_radius {
            real_in("connectivity_radius", r, 0.0, 1e6, Bound::Exclusive)?;
        }
        real_in(
            "wall_horizon",
            self.wall_horizon,
            0.0,
            1e6,
            Bound::Exclusive,
        )?;
        real_in(
            "rigid_loss_weight",
            self.rigid_loss_weight,
            0.0,
            1e6,
            Bound::Exclusive,
        )?;
        count_in("embedding_dim", self.embedding_dim, 1, 4096)?;
        // Upper bound by memory, below.
        count_in("latent", self.latent, 1, usize::MAX)?;
        count_in("n_hidden", self.n_hidden, 1, 64)?;
        count_in("message_passing_steps", self.message_passing_steps, 1, 256)?;
        count_in("vector_channels", self.vector_channels, 1, 1024)?;
        if self.model == Architecture::Egnn && self.kernel == TrainKernel::Fused {
            return Err(rule(
                "kernel",
                "\"fused\"",
                "\"auto\" or \"burn\" with model = \"egnn\": the fused kernels compute GNS only",
            ));
        }
        count_in("validate_every", self.validate_every, 1, usize::MAX)?;
        count_in("validation_windows", self.validation_windows, 1, 1_000_000)?;
        count_in("checkpoint_every", self.checkpoint_every, 1, usize::MAX)?;
        if let Some(p) = self.pushforward {
            real_in(
                "pushforward.probability",
                p.probability,
                0.0,
                1.0,
                Bound::Inclusive,
            )?;
            count_in("pushforward.steps", p.steps, 1, 100)?;
        }
        if let Some(boost) = self.window_weighting.boost() {
            real_in("window_weighting.boost", boost, 0.0, 1e6, Bound::Inclusive)?;
        }
        let bytes = parameter_bytes(self);
        if bytes > MAX_PARAMETER_BYTES {
            return Err(rule(
                "latent",
                self.latent,
                format!(
                    "the network would need about {:.1} GiB for weights, gradients and Adam moments (latent {}, {} message-passing steps, {} hidden layers); at most {:.0} GiB is allowed",
                    bytes / 1024f64.powi(3),
                    self.latent,
                    self.message_passing_steps,
                    self.n_hidden,
                    MAX_PARAMETER_BYTES / 1024f64.powi(3)
                ),
            ));
        }
        Ok(())
    }
}

/// GNS's learning-rate schedule:
/// `(initial − final)·0.1^(step / decay_steps) + final`.
pub fn exponential_decay(initial: f64, last: f64, decay_steps: f64, step: usize) -> f64 {
    (initial - last) * 0.1f64.powf(step as f64 / decay_steps) + last
}

#[cfg(test)]
mod tests;
