//! The training loop: windows → noise → featurize → masked MSE → Adam, with validation,
//! checkpoints and resume.

use crate::{TrainConfig, random_walk_noise};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_core::{Metadata, Trajectory};
use learnsim_models::{
    GnsModel, GraphInput, LearnedSimulator, LearnedSimulatorConfig, Normalization,
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
    device: Device,
    /// Progress so far.
    pub state: TrainState,
}

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
            },
            normalization: Normalization::from_metadata(metadata, config.noise_std),
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
        Self {
            optimizer: AdamConfig::new().init(),
            config,
            simulator,
            model,
            device,
            state: TrainState::default(),
        }
    }

    fn window<'a>(
        &self,
        data: &'a [Trajectory],
        rng: &mut impl Rng,
    ) -> Result<Window<'a>, TrainError> {
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
        rng: &mut impl Rng,
    ) -> (GraphInput, Vec<f32>, Vec<f32>) {
        let t = window.trajectory;
        let c = self.config.history;
        let per_frame = t.n_particles * t.dim;
        let noise = random_walk_noise(c + 1, &t.kind, t.dim, noise_std, rng);
        let frames: Vec<Vec<f32>> = (0..=c)
            .map(|k| {
                let frame = t.frame(window.last_input - c + k);
                frame
                    .iter()
                    .zip(&noise[k * per_frame..(k + 1) * per_frame])
                    .map(|(x, n)| x + n)
                    .collect()
            })
            .collect();
        // The target keeps the last input's noise, so the model learns to undo velocity noise.
        let last_noise = &noise[c * per_frame..];
        let next: Vec<f32> = t
            .frame(window.last_input + 1)
            .iter()
            .zip(last_noise)
            .map(|(x, n)| x + n)
            .collect();
        let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let input = self.simulator.featurize(&refs, &t.kind);
        let target = self.simulator.inverse(&next, &frames[c - 1], &frames[c]);
        let mask: Vec<f32> = t
            .kind
            .iter()
            .flat_map(|k| std::iter::repeat_n(if k.is_kinematic() { 0.0 } else { 1.0 }, t.dim))
            .collect();
        (input, target, mask)
    }

    fn batch(
        &self,
        data: &[Trajectory],
        rng: &mut impl Rng,
        noise_std: f64,
    ) -> Result<(GraphInput, Vec<f32>, Vec<f32>), TrainError> {
        let mut inputs = Vec::new();
        let (mut target, mut mask) = (Vec::new(), Vec::new());
        for _ in 0..self.config.batch_size.max(1) {
            let window = self.window(data, rng)?;
            let (i, t, m) = self.example(&window, noise_std, rng);
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
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.config.seed, step as u64));
        let (input, target, mask) = self.batch(train, &mut rng, self.config.noise_std)?;
        let loss = self.loss(&self.model, &input, target, mask);
        let value: f32 = loss.clone().into_scalar();
        if !value.is_finite() {
            return Err(TrainError::Diverged { step, loss: value });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let model = self.model.clone();
        self.model = self
            .optimizer
            .step(self.config.learning_rate(step), model, grads);
        self.state.train_loss.push(LossPoint { step, loss: value });
        self.state.step += 1;
        Ok(value)
    }

    /// Mean one-step loss over a fixed set of noise-free windows of `data` (the same windows at
    /// every call, drawn from the run seed).
    pub fn evaluate(&self, data: &[Trajectory]) -> Result<f32, TrainError> {
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.config.seed, u64::MAX));
        let model = self.model.valid();
        let mut total = 0.0;
        let windows = self.config.validation_windows.max(1);
        for _ in 0..windows {
            let window = self.window(data, &mut rng)?;
            let (input, target, mask) = self.example(&window, 0.0, &mut rng);
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
        self.optimizer
            .to_record()
            .save(tmp.join("optimizer.bpk"))
            .map_err(|e| fail(format!("{e:?}")))?;
        let state = serde_json::to_string(&self.state).map_err(|e| fail(e.to_string()))?;
        std::fs::write(tmp.join("state.json"), state).map_err(|e| fail(e.to_string()))?;
        let old = dir.with_extension("old");
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(|e| fail(e.to_string()))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| fail(e.to_string()))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Restores weights, optimiser state and progress from `dir`.
    pub fn load_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError> {
        let fail = |problem: String| TrainError::Checkpoint {
            path: dir.to_path_buf(),
            problem,
        };
        let model = ModuleRecord::load(dir.join("model.bpk"))
            .map_err(|e| fail(format!("model.bpk: {e:?}")))?;
        self.model = self.model.clone().load_record(model);
        let optimizer = OptimizerRecord::load(dir.join("optimizer.bpk"))
            .map_err(|e| fail(format!("optimizer.bpk: {e:?}")))?;
        self.optimizer = AdamConfig::new().init().load_record(optimizer);
        let text = std::fs::read_to_string(dir.join("state.json"))
            .map_err(|e| fail(format!("state.json: {e}")))?;
        self.state = serde_json::from_str(&text).map_err(|e| fail(format!("state.json: {e}")))?;
        Ok(())
    }
}
