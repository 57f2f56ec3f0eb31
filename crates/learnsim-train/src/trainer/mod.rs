//! The training loop: windows → noise → featurize → masked MSE → Adam, with validation,
//! checkpoints and resume.

use crate::distributed;
use crate::ema::WeightAverage;
use crate::{AccelerationOffset, Augmentation, IMPACT_FACTOR, RigidTarget, TrainConfig};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use data_parallel::all_reduce_gradients;
use learnsim_core::{Metadata, Trajectory};
use learnsim_models::{
    Architecture, FusedGnsModelTrainer, GnsModel, GraphInput, LearnedSimulator,
    LearnedSimulatorConfig, Normalization, ParticleModel,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use thiserror::Error;

mod checkpoint;
mod data_parallel;
mod example;
mod windows;

pub use windows::{ContactShare, WindowCriterion};
use windows::{Window, WindowContext, WindowSampler, for_each_window, mix, window_score};

/// Errors of a training run.
#[derive(Debug, Error)]
pub enum TrainError {
    /// No trajectory is long enough for one window of `history + 2` frames.
    #[error("no trajectory has the {needed} frames a training window needs")]
    TooShort { needed: usize },
    /// The loss became NaN or infinite.
    #[error("training diverged: loss {loss} at step {step}")]
    Diverged { step: usize, loss: f32 },
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {problem}")]
    Checkpoint { path: PathBuf, problem: String },
    /// The training data cannot be used.
    #[error("training data: {0}")]
    Data(String),
}

/// One recorded loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Optimiser step.
    pub step: usize,
    /// Loss value.
    pub loss: f32,
}

/// Progress saved beside the weights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Steps completed.
    pub step: usize,
    /// Training loss of every step.
    pub train_loss: Vec<LossPoint>,
    /// Validation loss at every validation.
    pub valid_loss: Vec<LossPoint>,
    /// Wall-clock seconds of training up to the last checkpoint, summed over every segment of
    /// a resumed run (the caller adds them; see `learnsim run`).
    #[serde(default)]
    pub seconds: f64,
    /// Each step's learning rate and training seconds so far, for `train_log.csv` (the caller
    /// logs them; empty in checkpoints from before).
    #[serde(default)]
    pub log: Vec<crate::train_log::LogRow>,
    /// Widths of the material features and step context the model reads (its input layout;
    /// `[0, 0]` in checkpoints written before they existed).
    #[serde(default)]
    pub extra_features: [usize; 2],
}

/// A training run in memory.
pub struct Trainer {
    /// The recipe.
    pub config: TrainConfig,
    /// Featurize/decode of the model being trained.
    pub simulator: LearnedSimulator,
    /// The network.
    pub model: ParticleModel,
    optimizer: ModuleOptimizer,
    /// The model in the fused CPU kernels, which then train it (`model` is kept equal to it).
    fused: Option<FusedGnsModelTrainer>,
    /// The moving average of the weights, when `ema_decay > 0`.
    average: Option<WeightAverage>,
    /// Cumulative window weights over the training data, built on the first step that needs them.
    sampler: Option<WindowSampler>,
    context: WindowContext,
    /// `lo + hi` of axis 0 when training windows are mirrored (`Augmentation::ReflectX`), or why
    /// these data do not have that symmetry.
    reflect_x: Option<Result<f32, String>>,
    device: Device,
    /// Whether this process's weights were made rank 0's (data-parallel training only).
    synced: bool,
    /// Time this process spent in the gradient all-reduce, waiting for slower ranks included.
    communication: std::time::Duration,
    /// Progress so far.
    pub state: TrainState,
}

/// burn's `AdamConfig` defaults, which both kernels use: β₁, β₂, ε.
const ADAM: (f32, f32, f32) = (0.9, 0.999, 1e-5);

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("simulator", &self.simulator)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Trainer {
    /// A fresh run for data described by `metadata`.
    pub fn new(config: TrainConfig, metadata: &Metadata, device: Device) -> Self {
        let simulator = LearnedSimulator {
            config: LearnedSimulatorConfig {
                dim: metadata.dim,
                history: config.history,
                connectivity_radius: config
                    .connectivity_radius
                    .unwrap_or(metadata.default_connectivity_radius),
                bounds: metadata.bounds.clone(),
                periodic: metadata.periodic_boundary_conditions.clone(),
                embedding_dim: config.embedding_dim,
                latent: config.latent,
                n_hidden: config.n_hidden,
                message_passing_steps: config.message_passing_steps,
                wall_horizon: config.wall_horizon,
                wall_nodes: config.wall_nodes,
                material_features: if config.features.material_property {
                    metadata.features.material_property
                } else {
                    0
                },
                context_features: if config.features.step_context {
                    metadata.features.step_context
                } else {
                    0
                },
                architecture: config.model,
                vector_channels: config.vector_channels,
            },
            normalization: if config.model == Architecture::Egnn {
                Normalization::isotropic(metadata, config.noise_std)
            } else {
                let mut n = Normalization::from_metadata(metadata, config.noise_std);
                if config.acceleration_offset == AccelerationOffset::Gravity {
                    n.acc_mean = metadata.gravity_per_frame();
                }
                n
            },
        };
        // burn draws initial weights from the device's global RNG: seed it from the run seed,
        // under a lock so that trainers built concurrently (tests, sweeps) cannot interleave.
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let model = {
            let _guard = INIT
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            device.seed(config.seed);
            // burn initialises parameters lazily, on first use; turning the model into a record
            // draws every weight now, while the seed and the lock still hold.
            let record = simulator.init_network(&device).into_record();
            simulator.init_network(&device).load_record(record)
        };
        let gravity_dt2 = metadata.gravity_per_frame();
        let reflect_x = (config.augmentation == Augmentation::ReflectX).then(|| {
            if gravity_dt2.first().is_some_and(|g| *g != 0.0) {
                Err(format!(
                    "augmentation = \"reflect-x\": gravity {:?} has an x component, so mirrored windows are not physical",
                    metadata.gravity
                ))
            } else if simulator.config.context_features > 0 {
                Err("augmentation = \"reflect-x\": the data's step context may hold x components, which a mirror would have to flip (set `features.step_context = false`)".to_owned())
            } else {
                Ok((metadata.bounds[0][0] + metadata.bounds[0][1]) as f32)
            }
        });
        let g_norm = gravity_dt2.iter().map(|g| g * g).sum::<f64>().sqrt();
        let acc_scale = metadata.acc_std.iter().cloned().fold(0.0, f64::max);
        let context = WindowContext {
            threshold: if g_norm > 0.0 {
                0.5 * g_norm
            } else {
                acc_scale
            },
            impact_threshold: IMPACT_FACTOR * if g_norm > 0.0 { g_norm } else { acc_scale },
            gravity_dt2,
            walls: metadata.walls(),
            reach: 3.0 * simulator.config.connectivity_radius,
        };
        let extra_features = [
            simulator.config.material_features,
            simulator.config.context_features,
        ];
        Self {
            average: (config.ema_decay > 0.0).then(|| WeightAverage::new(config.ema_decay, &model)),
            sampler: None,
            context,
            reflect_x,
            optimizer: AdamConfig::new()
                .with_beta_1(ADAM.0)
                .with_beta_2(ADAM.1)
                .with_epsilon(ADAM.2)
                .init(),
            fused: model
                .gns()
                .filter(|_| config.kernel.is_fused_for(config.model))
                .map(GnsModel::fused_trainer),
            config,
            simulator,
            model,
            state: TrainState {
                extra_features,
                ..TrainState::default()
            },
            device,
            synced: false,
            communication: std::time::Duration::ZERO,
        }
    }

    /// Whether `t` carries the features the model reads, at their widths.
    fn check_features(&self, t: &Trajectory) -> Result<(), TrainError> {
        let c = &self.simulator.config;
        for (name, wanted, has) in [
            ("material_property", c.material_features, t.material.width),
            ("step_context", c.context_features, t.step_context.width),
        ] {
            if wanted > 0 && has != wanted {
                return Err(TrainError::Data(format!(
                    "the model reads `{name}` of width {wanted}, a trajectory has width {has} \
                     (set `features.{name} = false` to train without it)"
                )));
            }
        }
        Ok(())
    }

    fn window<'a>(
        &self,
        data: &'a [Trajectory],
        rng: &mut impl Rng,
        sampling: Sampling,
    ) -> Result<Window<'a>, TrainError> {
        let window = self.window_unchecked(data, rng, sampling)?;
        self.check_features(window.trajectory)?;
        Ok(window)
    }

    fn window_unchecked<'a>(
        &self,
        data: &'a [Trajectory],
        rng: &mut impl Rng,
        sampling: Sampling,
    ) -> Result<Window<'a>, TrainError> {
        if let (Sampling::Configured, Some(sampler)) = (sampling, &self.sampler) {
            let (i, last_input) = sampler.draw(rng);
            return Ok(Window {
                trajectory: &data[i],
                last_input,
            });
        }
        let needed = self.config.history + 2;
        let usable: Vec<&Trajectory> = data.iter().filter(|t| t.n_frames >= needed).collect();
        if usable.is_empty() {
            return Err(TrainError::TooShort { needed });
        }
        let trajectory = usable[rng.random_range(0..usable.len())];
        let last_input = rng.random_range(self.config.history..trajectory.n_frames - 1);
        Ok(Window {
            trajectory,
            last_input,
        })
    }

    /// The windows `part` of the global batch of `step` (all of them on one process): every
    /// rank draws the whole batch's random numbers, in one order, and builds only its part.
    fn batch(
        &self,
        data: &[Trajectory],
        rng: &mut impl Rng,
        noise_std: f64,
        step: usize,
        part: std::ops::Range<usize>,
    ) -> Result<(GraphInput, Vec<f32>, Vec<f32>), TrainError> {
        if self.config.rigid_target == RigidTarget::Rigid && self.simulator.config.dim != 2 {
            return Err(TrainError::Data(format!(
                "rigid_target = \"rigid\" fits rigid motions in 2D only; these data are {}D",
                self.simulator.config.dim
            )));
        }
        let mut inputs = Vec::new();
        let (mut target, mut mask) = (Vec::new(), Vec::new());
        for j in 0..self.config.batch_size.max(1) {
            let window = self.window(data, rng, Sampling::Configured)?;
            // Draw only when pushforward can happen, so that probability 0 (or a step before
            // `start_step`) replays plain training's random numbers exactly.
            let unroll = match self.config.pushforward {
                Some(p) if p.probability > 0.0 && step >= p.start_step => {
                    let room = window.trajectory.n_frames - 2 - window.last_input;
                    if rng.random_bool(p.probability.clamp(0.0, 1.0)) {
                        p.steps.min(room)
                    } else {
                        0
                    }
                }
                _ => 0,
            };
            // Drawn only when mirroring is on, so that other recipes replay their numbers.
            let reflect = match &self.reflect_x {
                None => None,
                Some(Err(why)) => return Err(TrainError::Data(why.clone())),
                Some(Ok(sum)) => rng.random_bool(0.5).then_some(*sum),
            };
            let noise = self.noise(&window, noise_std, rng);
            if !part.contains(&j) {
                continue;
            }
            let (i, t, m) = self.example(&window, &noise, unroll, reflect);
            inputs.push(i);
            target.extend(t);
            mask.extend(m);
        }
        Ok((GraphInput::concat(&inputs), target, mask))
    }

    /// Masked MSE on normalised accelerations.
    fn loss(
        &self,
        model: &ParticleModel,
        input: &GraphInput,
        target: Vec<f32>,
        mask: Vec<f32>,
    ) -> Tensor<1> {
        let dim = self.simulator.config.dim;
        let n = input.n_nodes;
        let prediction = model.forward(input, &self.device);
        let target = Tensor::<2>::from_data(TensorData::new(target, [n, dim]), &self.device);
        let count = mask.iter().sum::<f32>().max(1.0);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [n, dim]), &self.device);
        ((prediction - target).powf_scalar(2.0) * mask).sum() / count
    }

    /// One optimiser step on a batch drawn for step `self.state.step`; returns the loss.
    pub fn train_step(&mut self, train: &[Trajectory]) -> Result<f32, TrainError> {
        let step = self.state.step;
        if let (Some(boost), None) = (self.config.window_weighting.boost(), &self.sampler) {
            let criterion = WindowCriterion::of(self.config.window_weighting);
            self.sampler =
                WindowSampler::new(train, &self.context, self.config.history, criterion, boost);
        }
        let world = distributed::world();
        let part = distributed::share(self.config.batch_size.max(1), world.rank(), world.size())
            .map_err(TrainError::Data)?;
        if world.size() > 1 && !self.synced {
            self.synchronise(world.as_ref())?;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.config.seed, step as u64));
        let (input, target, mask) =
            self.batch(train, &mut rng, self.config.noise_std, step, part)?;
        let lr = self.config.learning_rate(step);
        let first = self.state.train_loss.first().map(|p| p.loss);
        let value = if let Some(fused) = &mut self.fused {
            let mut value = fused.loss_and_gradients(&input, &target, &mask);
            if world.size() > 1 {
                let start = std::time::Instant::now();
                value = all_reduce_gradients(world.as_ref(), fused, value, &mask);
                self.communication += start.elapsed();
            }
            if crate::fit::diverged(value, first) {
                return Err(TrainError::Diverged { step, loss: value });
            }
            fused.adam_step(lr, ADAM.0, ADAM.1, ADAM.2);
            write_fused(&mut self.model, fused, &self.device);
            value
        } else {
            let count = (world.size() > 1).then(|| mask.clone());
            let loss = self.loss(&self.model, &input, target, mask);
            let mut value: f32 = loss.clone().into_scalar();
            let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
            if let Some(mask) = count {
                let start = std::time::Instant::now();
                value = data_parallel::all_reduce_burn_gradients(
                    world.as_ref(),
                    &self.model,
                    &mut grads,
                    value,
                    &mask,
                );
                self.communication += start.elapsed();
            }
            if crate::fit::diverged(value, first) {
                return Err(TrainError::Diverged { step, loss: value });
            }
            let model = self.model.clone();
            self.model = self.optimizer.step(lr, model, grads);
            value
        };
        if let Some(average) = &mut self.average {
            average.update(&self.model);
        }
        self.state.train_loss.push(LossPoint { step, loss: value });
        self.state.step += 1;
        Ok(value)
    }

    /// Seconds this process has spent in the gradient all-reduce of data-parallel training
    /// (packing, the collective and waiting for the slowest rank), since it was built.
    pub fn communication_seconds(&self) -> f64 {
        self.communication.as_secs_f64()
    }

    /// The weights that validation, checkpoints' inference and rollouts use: the moving
    /// average when `ema_decay > 0`, else the trained weights.
    pub fn inference_model(&self) -> ParticleModel {
        match &self.average {
            Some(average) => average.model(self.model.clone()),
            None => self.model.clone(),
        }
    }

    /// Share of `train`'s windows that `criterion` counts (more than 10 % of their free
    /// particles), and their share of the draws under the configured weighting (issue #24).
    pub fn window_share(&self, train: &[Trajectory], criterion: WindowCriterion) -> ContactShare {
        let weighting = self.config.window_weighting;
        let (boost, drawn_by) = (
            weighting.boost().unwrap_or(0.0),
            WindowCriterion::of(weighting),
        );
        let (mut count, mut counted, mut total, mut counted_weight) = (0.0, 0.0, 0.0, 0.0);
        for_each_window(train, self.config.history, |_, f, t| {
            let score = window_score(t, f, &self.context, criterion);
            let drawn_score = if drawn_by == criterion {
                score
            } else {
                window_score(t, f, &self.context, drawn_by)
            };
            let weight = 1.0 + boost * drawn_score;
            count += 1.0;
            total += weight;
            if score > 0.1 {
                counted += 1.0;
                counted_weight += weight;
            }
        });
        ContactShare {
            uniform: counted / f64::max(count, 1.0),
            weighted: counted_weight / f64::max(total, 1.0),
        }
    }

    /// `window_share` of the contact windows.
    pub fn contact_share(&self, train: &[Trajectory]) -> ContactShare {
        self.window_share(train, WindowCriterion::Contact)
    }

    /// A forward pass of the current weights without gradient, through the fused kernel when
    /// training uses it.
    fn inference_network(&self) -> InferenceNetwork<'_> {
        match (&self.fused, self.model.fused()) {
            (Some(_), Some(fused)) => InferenceNetwork::Fused(fused),
            _ => InferenceNetwork::Burn(self.model.valid(), &self.device),
        }
    }

    /// Mean one-step loss over a fixed set of noise-free windows of `data` (the same windows at
    /// every call, drawn from the run seed).
    pub fn evaluate(&self, data: &[Trajectory]) -> Result<f32, TrainError> {
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.config.seed, u64::MAX));
        let model = self.inference_model().valid();
        let mut total = 0.0;
        let windows = self.config.validation_windows.max(1);
        for _ in 0..windows {
            let window = self.window(data, &mut rng, Sampling::Uniform)?;
            let noise = self.noise(&window, 0.0, &mut rng);
            let (input, target, mask) = self.example(&window, &noise, 0, None);
            total += self.loss(&model, &input, target, mask).into_scalar::<f32>();
        }
        Ok(total / windows as f32)
    }
}

/// The fused kernel's weights copied into `model` (a GNS: the kernel trains nothing else).
fn write_fused(model: &mut ParticleModel, fused: &FusedGnsModelTrainer, device: &Device) {
    if let ParticleModel::Gns(gns) = model {
        *gns = fused.write_into(gns.clone(), device);
    }
}

/// Which windows a draw may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sampling {
    /// Uniform windows (validation's fixed set).
    Uniform,
    /// The configured `window_weighting`.
    Configured,
}

/// The network for pushforward's gradient-free unroll.
enum InferenceNetwork<'a> {
    Fused(learnsim_models::FusedGnsModel),
    Burn(ParticleModel, &'a Device),
}

impl InferenceNetwork<'_> {
    /// # Shapes
    /// - returns: `[N·D]` normalised accelerations
    fn predict(&mut self, input: &GraphInput) -> Vec<f32> {
        match self {
            Self::Fused(model) => model.forward(input),
            Self::Burn(model, device) => model
                .forward(input, device)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("f32 accelerations"),
        }
    }
}

#[cfg(test)]
mod tests;
