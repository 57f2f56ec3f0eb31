//! The training loop: windows → noise → featurize → masked MSE → Adam, with validation,
//! checkpoints and resume.

use crate::ema::WeightAverage;
use crate::{AccelerationOffset, IMPACT_FACTOR, TrainConfig, WindowWeighting, random_walk_noise};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_core::{Metadata, Trajectory};
use learnsim_models::{
    AdamState, FusedGnsModelTrainer, GnsModel, GraphInput, LearnedSimulator,
    LearnedSimulatorConfig, Normalization,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

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
    pub model: GnsModel,
    optimizer: ModuleOptimizer,
    /// The model in the fused CPU kernels, which then train it (`model` is kept equal to it).
    fused: Option<FusedGnsModelTrainer>,
    /// The moving average of the weights, when `ema_decay > 0`.
    average: Option<WeightAverage>,
    /// Cumulative window weights over the training data, built on the first step that needs them.
    sampler: Option<WindowSampler>,
    context: WindowContext,
    device: Device,
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

/// A training window: `history + 1` input frames and the next frame.
struct Window<'a> {
    trajectory: &'a Trajectory,
    last_input: usize,
}

/// Weighted sampling of training windows: every (trajectory, last input frame) pair with its
/// cumulative weight.
#[derive(Debug, Clone)]
struct WindowSampler {
    /// `(trajectory index, last input frame)` of every window.
    windows: Vec<(usize, usize)>,
    /// Running sum of the weights, ending at the total.
    cumulative: Vec<f64>,
}

/// How many training windows involve contact or impacts (more than 10 % of their particles
/// counted by a `WindowCriterion`), counted over windows and weighted by how often each is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContactShare {
    /// Share of windows, i.e. of uniform draws.
    pub uniform: f64,
    /// Share of draws under the configured weighting.
    pub weighted: f64,
}

/// Share of a window's free particles that count under `criterion` at its target frame
/// `f + 1`. Contact: within three radii of a non-periodic wall at frame `f`, or accelerating
/// unlike free fall. Impact: accelerating unlike free fall by more than the impact threshold.
fn window_score(
    t: &Trajectory,
    f: usize,
    context: &WindowContext,
    criterion: WindowCriterion,
) -> f64 {
    let dim = t.dim;
    let (prev, cur, next) = (t.frame(f - 1), t.frame(f), t.frame(f + 1));
    let threshold = match criterion {
        WindowCriterion::Contact => context.threshold,
        WindowCriterion::Impact => context.impact_threshold,
    };
    let mut free = 0usize;
    let mut counted = 0usize;
    for (p, kind) in t.kind.iter().enumerate() {
        if kind.is_kinematic() {
            continue;
        }
        free += 1;
        let mut dev2 = 0.0;
        let mut near = false;
        for a in 0..dim {
            let k = p * dim + a;
            let acc = next[k] as f64 - 2.0 * cur[k] as f64 + prev[k] as f64;
            dev2 += (acc - context.gravity_dt2[a]).powi(2);
            if let Some([lo, hi]) = context.walls[a] {
                let x = cur[k] as f64;
                near |= x - lo < context.reach || hi - x < context.reach;
            }
        }
        let near = near && criterion == WindowCriterion::Contact;
        if near || dev2.sqrt() > threshold {
            counted += 1;
        }
    }
    counted as f64 / free.max(1) as f64
}

/// Which particles a window's score counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowCriterion {
    /// Near a wall or off free fall (`WindowWeighting::Contact`).
    Contact,
    /// Far off free fall (`WindowWeighting::Impact`).
    Impact,
}

impl WindowCriterion {
    fn of(weighting: WindowWeighting) -> Self {
        match weighting {
            WindowWeighting::Impact { .. } => Self::Impact,
            WindowWeighting::Uniform | WindowWeighting::Contact { .. } => Self::Contact,
        }
    }
}

impl WindowSampler {
    fn new(
        data: &[Trajectory],
        context: &WindowContext,
        history: usize,
        criterion: WindowCriterion,
        boost: f64,
    ) -> Option<Self> {
        let mut windows = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for_each_window(data, history, |i, f, t| {
            total += 1.0 + boost * window_score(t, f, context, criterion);
            windows.push((i, f));
            cumulative.push(total);
        });
        (!windows.is_empty()).then_some(Self {
            windows,
            cumulative,
        })
    }

    fn draw(&self, rng: &mut impl Rng) -> (usize, usize) {
        let total = *self.cumulative.last().expect("at least one window");
        let u = rng.random_range(0.0..total);
        let k = self.cumulative.partition_point(|&c| c <= u);
        self.windows[k.min(self.windows.len() - 1)]
    }
}

/// Calls `visit(trajectory index, last input frame, trajectory)` for every training window.
fn for_each_window(
    data: &[Trajectory],
    history: usize,
    mut visit: impl FnMut(usize, usize, &Trajectory),
) {
    for (i, t) in data.iter().enumerate() {
        if t.n_frames < history + 2 {
            continue;
        }
        for f in history..t.n_frames - 1 {
            visit(i, f, t);
        }
    }
}

/// What the contact score needs from the dataset.
#[derive(Debug, Clone)]
struct WindowContext {
    gravity_dt2: Vec<f64>,
    /// Distance from free fall that counts as contact.
    threshold: f64,
    /// Distance from free fall that counts as an impact.
    impact_threshold: f64,
    walls: Vec<Option<[f64; 2]>>,
    reach: f64,
}

fn mix(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
            },
            normalization: {
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
            let record = simulator.init_model(&device).into_record();
            simulator.init_model(&device).load_record(record)
        };
        let gravity_dt2 = metadata.gravity_per_frame();
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
            optimizer: AdamConfig::new()
                .with_beta_1(ADAM.0)
                .with_beta_2(ADAM.1)
                .with_epsilon(ADAM.2)
                .init(),
            fused: config.kernel.is_fused().then(|| model.fused_trainer()),
            config,
            simulator,
            model,
            state: TrainState {
                extra_features,
                ..TrainState::default()
            },
            device,
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

    /// Featurized input, normalised target and loss mask for one window, with noise from `rng`
    /// (`noise_std = 0` for validation).
    fn example(
        &self,
        window: &Window,
        noise_std: f64,
        unroll: usize,
        rng: &mut impl Rng,
    ) -> (GraphInput, Vec<f32>, Vec<f32>) {
        let t = window.trajectory;
        let c = self.config.history;
        let per_frame = t.n_particles * t.dim;
        let noise = random_walk_noise(c + 1, &t.kind, t.dim, noise_std, rng);
        let mut frames: Vec<Vec<f32>> = (0..=c)
            .map(|k| {
                let frame = t.frame(window.last_input - c + k);
                frame
                    .iter()
                    .zip(&noise[k * per_frame..(k + 1) * per_frame])
                    .map(|(x, n)| x + n)
                    .collect()
            })
            .collect();
        // Pushforward: the model's own positions replace the window's, `unroll` steps on, with
        // kinematic particles taken from the truth (without gradient: a plain forward pass).
        if unroll > 0 {
            let mut network = self.inference_network();
            for k in 1..=unroll {
                let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
                let extras = self.simulator.extras(t, window.last_input + k - 1);
                let input = self.simulator.featurize_with_extras(&refs, &t.kind, extras);
                let acc = network.predict(&input);
                let mut next = self.simulator.decode(&acc, &frames[c - 1], &frames[c]);
                let truth = t.frame(window.last_input + k);
                for (p, kind) in t.kind.iter().enumerate() {
                    if kind.is_kinematic() {
                        next[p * t.dim..(p + 1) * t.dim]
                            .copy_from_slice(&truth[p * t.dim..(p + 1) * t.dim]);
                    }
                }
                frames.remove(0);
                frames.push(next);
            }
        }
        // The target keeps the last input's noise, so the model learns to undo velocity noise.
        let last_noise = &noise[c * per_frame..];
        let next: Vec<f32> = t
            .frame(window.last_input + unroll + 1)
            .iter()
            .zip(last_noise)
            .map(|(x, n)| x + n)
            .collect();
        let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let extras = self.simulator.extras(t, window.last_input + unroll);
        let input = self.simulator.featurize_with_extras(&refs, &t.kind, extras);
        let mut target = self.simulator.inverse(&next, &frames[c - 1], &frames[c]);
        let mut mask: Vec<f32> = t
            .kind
            .iter()
            .flat_map(|k| std::iter::repeat_n(if k.is_kinematic() { 0.0 } else { 1.0 }, t.dim))
            .collect();
        // Nodes after the particles (mirror images of the walls) have no target.
        let extra = (input.n_nodes - t.n_particles) * t.dim;
        target.extend(std::iter::repeat_n(0.0, extra));
        mask.extend(std::iter::repeat_n(0.0, extra));
        (input, target, mask)
    }

    fn batch(
        &self,
        data: &[Trajectory],
        rng: &mut impl Rng,
        noise_std: f64,
        step: usize,
    ) -> Result<(GraphInput, Vec<f32>, Vec<f32>), TrainError> {
        let mut inputs = Vec::new();
        let (mut target, mut mask) = (Vec::new(), Vec::new());
        for _ in 0..self.config.batch_size.max(1) {
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
            let (i, t, m) = self.example(&window, noise_std, unroll, rng);
            inputs.push(i);
            target.extend(t);
            mask.extend(m);
        }
        Ok((GraphInput::concat(&inputs), target, mask))
    }

    /// Masked MSE on normalised accelerations.
    fn loss(
        &self,
        model: &GnsModel,
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
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.config.seed, step as u64));
        let (input, target, mask) = self.batch(train, &mut rng, self.config.noise_std, step)?;
        let lr = self.config.learning_rate(step);
        let value = if let Some(fused) = &mut self.fused {
            let value = fused.loss_and_gradients(&input, &target, &mask);
            if !value.is_finite() {
                return Err(TrainError::Diverged { step, loss: value });
            }
            fused.adam_step(lr, ADAM.0, ADAM.1, ADAM.2);
            self.model = fused.write_into(self.model.clone(), &self.device);
            value
        } else {
            let loss = self.loss(&self.model, &input, target, mask);
            let value: f32 = loss.clone().into_scalar();
            if !value.is_finite() {
                return Err(TrainError::Diverged { step, loss: value });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &self.model);
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

    /// The weights that validation, checkpoints' inference and rollouts use: the moving
    /// average when `ema_decay > 0`, else the trained weights.
    pub fn inference_model(&self) -> GnsModel {
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
        match &self.fused {
            Some(_) => InferenceNetwork::Fused(self.model.fused()),
            None => InferenceNetwork::Burn(self.model.valid(), &self.device),
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
            let (input, target, mask) = self.example(&window, 0.0, 0, &mut rng);
            total += self.loss(&model, &input, target, mask).into_scalar::<f32>();
        }
        Ok(total / windows as f32)
    }

    /// Writes weights, optimiser state and progress into `dir` (via a temporary folder that
    /// replaces `dir` whole, so a crash mid-write leaves the previous checkpoint intact).
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), TrainError> {
        let fail = |problem: String| TrainError::Checkpoint {
            path: dir.to_path_buf(),
            problem,
        };
        let tmp = dir.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| fail(e.to_string()))?;
        self.model
            .clone()
            .into_record()
            .save(tmp.join("model.bpk"))
            .map_err(|e| fail(format!("{e:?}")))?;
        match &self.fused {
            Some(fused) => {
                std::fs::write(tmp.join(FUSED_ADAM), encode_adam(&fused.adam_state()))
                    .map_err(|e| fail(format!("{FUSED_ADAM}: {e}")))?;
            }
            None => self
                .optimizer
                .to_record()
                .save(tmp.join("optimizer.bpk"))
                .map_err(|e| fail(format!("{e:?}")))?,
        }
        if let Some(average) = &self.average {
            self.inference_model()
                .into_record()
                .save(tmp.join(EMA_MODEL))
                .map_err(|e| fail(format!("{e:?}")))?;
            std::fs::write(tmp.join(EMA_UPDATES), average.updates().to_string())
                .map_err(|e| fail(format!("{EMA_UPDATES}: {e}")))?;
        }
        let state = serde_json::to_string(&self.state).map_err(|e| fail(e.to_string()))?;
        std::fs::write(tmp.join("state.json"), state).map_err(|e| fail(e.to_string()))?;
        crate::fit::replace_dir(&tmp, dir).map_err(|e| fail(e.to_string()))
    }

    /// Restores weights, optimiser state and progress from `dir`.
    pub fn load_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError> {
        let fail = |problem: String| TrainError::Checkpoint {
            path: dir.to_path_buf(),
            problem,
        };
        let text = std::fs::read_to_string(dir.join("state.json"))
            .map_err(|e| fail(format!("state.json: {e}")))?;
        let state: TrainState =
            serde_json::from_str(&text).map_err(|e| fail(format!("state.json: {e}")))?;
        // A model's input layout is fixed by the features it was trained to read; weights of
        // another layout cannot be loaded into this one.
        if state.extra_features != self.state.extra_features {
            return Err(fail(format!(
                "the model reads material_property and step_context of widths {:?}, but this \
                 dataset and config give {:?}: evaluate it on data with the features it was \
                 trained on (or train with `[features]` matching the data)",
                state.extra_features, self.state.extra_features
            )));
        }
        let model = ModuleRecord::load(dir.join("model.bpk"))
            .map_err(|e| fail(format!("model.bpk: {e:?}")))?;
        self.model = self.model.clone().load_record(model);
        if self.fused.is_some() {
            let path = dir.join(FUSED_ADAM);
            let bytes = std::fs::read(&path).map_err(|e| {
                fail(format!(
                    "{FUSED_ADAM}: {e} (a checkpoint of the burn kernel cannot resume with the fused one; set kernel = \"burn\")"
                ))
            })?;
            let state = decode_adam(&bytes).map_err(|p| fail(format!("{FUSED_ADAM}: {p}")))?;
            let mut fused = self.model.fused_trainer();
            fused
                .set_adam_state(state)
                .map_err(|p| fail(format!("{FUSED_ADAM}: {p}")))?;
            self.fused = Some(fused);
        } else {
            let optimizer = OptimizerRecord::load(dir.join("optimizer.bpk"))
                .map_err(|e| fail(format!("optimizer.bpk: {e:?} (a checkpoint of the fused kernel cannot resume with burn's; set kernel = \"fused\")")))?;
            self.optimizer = AdamConfig::new()
                .with_beta_1(ADAM.0)
                .with_beta_2(ADAM.1)
                .with_epsilon(ADAM.2)
                .init()
                .load_record(optimizer);
        }
        if self.average.is_some() {
            let record = ModuleRecord::load(dir.join(EMA_MODEL)).map_err(|e| {
                fail(format!(
                    "{EMA_MODEL}: {e:?} (a checkpoint written with ema_decay = 0 cannot resume with an average)"
                ))
            })?;
            let averaged = self.model.clone().load_record(record);
            let updates: u64 = std::fs::read_to_string(dir.join(EMA_UPDATES))
                .map_err(|e| fail(format!("{EMA_UPDATES}: {e}")))?
                .trim()
                .parse()
                .map_err(|e| fail(format!("{EMA_UPDATES}: {e}")))?;
            if let Some(average) = &mut self.average {
                average.restore(&averaged, updates);
            }
        }
        self.state = state;
        Ok(())
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
    Burn(GnsModel, &'a Device),
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

/// The averaged weights in a checkpoint, and how many updates they hold.
const EMA_MODEL: &str = "ema.bpk";
const EMA_UPDATES: &str = "ema_updates.txt";

/// The fused kernel's Adam state in a checkpoint.
const FUSED_ADAM: &str = "fused_adam.bin";
const ADAM_MAGIC: &[u8; 8] = b"LSADAM01";

/// `LSADAM01`, steps (i32 LE), array count (u64 LE), then per array its length (u64 LE) and
/// its first then second moments (f32 LE).
fn encode_adam(state: &AdamState) -> Vec<u8> {
    let mut out = ADAM_MAGIC.to_vec();
    out.extend(state.steps.to_le_bytes());
    out.extend((state.first.len() as u64).to_le_bytes());
    for (m, v) in state.first.iter().zip(&state.second) {
        out.extend((m.len() as u64).to_le_bytes());
        out.extend(m.iter().chain(v).flat_map(|x| x.to_le_bytes()));
    }
    out
}

fn decode_adam(bytes: &[u8]) -> Result<AdamState, String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| format!("truncated: {} bytes, needed more at byte {at}", bytes.len()))?;
        let s = &bytes[at..end];
        at = end;
        Ok(s)
    };
    if take(8)? != ADAM_MAGIC {
        return Err("not a learnsim Adam state (bad magic)".into());
    }
    let steps = i32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    let arrays = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    if arrays > bytes.len() as u64 {
        return Err(format!(
            "{arrays} arrays cannot fit in {} bytes",
            bytes.len()
        ));
    }
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for k in 0..arrays {
        let len = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l.checked_mul(8).is_some_and(|b| b <= bytes.len()))
            .ok_or_else(|| format!("array {k} claims {len} values, more than the file holds"))?;
        let floats = |raw: &[u8]| -> Vec<f32> {
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect()
        };
        first.push(floats(take(4 * len)?));
        second.push(floats(take(4 * len)?));
    }
    if at != bytes.len() {
        return Err(format!("{} bytes after the last array", bytes.len() - at));
    }
    if let Some(k) = first
        .iter()
        .chain(&second)
        .position(|a| a.iter().any(|x| !x.is_finite()))
    {
        return Err(format!("moment array {k} holds a NaN or infinity"));
    }
    Ok(AdamState {
        steps,
        first,
        second,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The training target is noise-corrected as GNS's (`train.py`: the target keeps the last
    /// input frame's noise): whatever the random-walk noise on the window, the velocity the
    /// target decodes to (the last noisy input velocity plus the target acceleration) is the
    /// true next velocity x₈ − x₇. Taking the target from the clean next frame instead leaves
    /// the last frame's noise in it: an error of order σ = 1e-3, where f32 rounding of
    /// positions near 0.5 gives at most a few 1e-8 (bound 1e-6).
    #[test]
    fn the_target_decodes_to_the_true_next_velocity_under_noise() {
        use learnsim_sim::{Case, Split, Tier, trajectory_seed};
        let t = Case::WaterDrop2d
            .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 12, &|| {})
            .unwrap();
        let info = Case::WaterDrop2d.info(Tier::Cpu);
        let metadata = Metadata {
            dim: 2,
            bounds: info.bounds,
            dt: info.frame_dt,
            default_connectivity_radius: info.connectivity_radius,
            periodic_boundary_conditions: info.periodic,
            num_particles_max: t.n_particles,
            sequence_length_train: 11,
            sequence_length_test: 11,
            vel_mean: vec![1e-4, -2e-3],
            vel_std: vec![2e-3, 3e-3],
            acc_mean: vec![0.0, -6e-5],
            acc_std: vec![1e-4, 2e-4],
            dx: info.dx,
            particle_type_convention: info.convention,
            gravity: info.gravity,
            case: "water-drop-2d".into(),
            solver: "mls-mpm".into(),
            tier: "cpu".into(),
            seed: 1,
            num_trajectories: [1, 0, 0],
            features: Default::default(),
        };
        let config: TrainConfig = toml::from_str(
            "seed = 0\nsteps = 1\nbatch_size = 1\nlr_initial = 1e-3\nlr_final = 1e-4\n\
             noise_std = 1e-3\nhistory = 5\nconnectivity_radius = 0.02\nembedding_dim = 4\n\
             latent = 8\nn_hidden = 1\nmessage_passing_steps = 1\nvalidate_every = 1\n\
             validation_windows = 1\ncheckpoint_every = 1\n",
        )
        .unwrap();
        let sigma = config.noise_std;
        let trainer = Trainer::new(
            config,
            &metadata,
            learnsim_models::default_training_device(),
        );
        let window = Window {
            trajectory: &t,
            last_input: 7,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (input, target, _) = trainer.example(&window, sigma, 0, &mut rng);
        let norm = &trainer.simulator.normalization;
        let (dim, c, w) = (2, 5, input.node_width);
        let (x6, x7, x8) = (t.frame(6), t.frame(7), t.frame(8));
        let mut noisy = 0;
        for p in 0..t.n_particles {
            for a in 0..dim {
                let k = p * dim + a;
                let v_last = f64::from(input.node_features[p * w + (c - 1) * dim + a])
                    * norm.vel_std[a]
                    + norm.vel_mean[a];
                let acc = f64::from(target[k]) * norm.acc_std[a] + norm.acc_mean[a];
                let truth = f64::from(x8[k]) - f64::from(x7[k]);
                assert!(
                    (v_last + acc - truth).abs() < 1e-6,
                    "particle {p}, axis {a}: decoded {} vs true {truth}",
                    v_last + acc
                );
                if (v_last - (f64::from(x7[k]) - f64::from(x6[k]))).abs() > 1e-5 {
                    noisy += 1;
                }
            }
        }
        // The input really was noisy: the last velocity differs from the true one almost
        // everywhere (σ/√5 ≈ 4.5e-4 per frame increment against the 1e-5 threshold).
        assert!(noisy > t.n_particles * dim * 9 / 10, "{noisy} noisy values");
    }

    #[test]
    fn adam_state_round_trips_and_bad_bytes_are_refused() {
        let state = AdamState {
            steps: 7,
            first: vec![vec![1.0, -2.5], vec![], vec![3e-8]],
            second: vec![vec![0.5, 0.25], vec![], vec![1e-12]],
        };
        let bytes = encode_adam(&state);
        assert_eq!(decode_adam(&bytes).unwrap(), state);
        for cut in [0, 5, 12, bytes.len() - 1] {
            let e = decode_adam(&bytes[..cut]).unwrap_err();
            assert!(e.contains("truncated") || e.contains("magic"), "{cut}: {e}");
        }
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(decode_adam(&bad).unwrap_err().contains("magic"));
        let mut long = bytes.clone();
        long.push(0);
        assert!(
            decode_adam(&long)
                .unwrap_err()
                .contains("after the last array")
        );
        let mut huge = bytes.clone();
        huge[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(
            decode_adam(&huge)
                .unwrap_err()
                .contains("more than the file holds")
        );
        let mut nan = bytes;
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(decode_adam(&nan).unwrap_err().contains("NaN"));
    }
}
