//! The shared fit loop: each step's loss, Adam at the step's learning rate, a stop on a
//! non-finite loss, validation, and checkpoints that a killed run resumes from.
//!
//! A step's batch comes from the fit's sampler (the state a trainer draws batches with: an RNG
//! stream, an epoch's shuffled order; saved with the checkpoint) or from an RNG the trainer
//! seeds by the step, so that a resumed fit draws the batches the uninterrupted one would
//! have: with the weights, Adam's moments, the sampler, the best weights so far and the loss
//! history restored, the resumed fit is the uninterrupted one, bit for bit (tested).
//!
//! Data-parallel (issue #26): in a group of K ranks ([`crate::distributed::install`], MPI under
//! `mpirun`) every rank starts from rank 0's weights, averages each step's gradient and
//! recorded loss over the ranks before the optimiser step, and so holds the same weights after
//! it; only rank 0 writes checkpoints (every rank resumes from them). A trainer whose loss is
//! the mean over its rank's equal part of the global batch ([`crate::distributed::share`])
//! trains as one process on the whole batch; one that computes the whole batch on every rank
//! still trains correctly, only without a speed-up.

use crate::train_log::LogRow;
use crate::{LossPoint, TrainError};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Tensor;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where a fit saves itself, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpointing {
    /// The checkpoint folder (replaced whole at each save).
    pub dir: PathBuf,
    /// Steps between saves (the last step is always saved).
    pub every: usize,
}

/// Whether a fit validates its initial weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstValidation {
    /// Validate before the first step (the curve starts at step 0).
    BeforeTraining,
    /// Validate first after `validate_every` steps.
    AfterFirstInterval,
}

/// Which weights a fit returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The weights after the last step.
    Last,
    /// The validated weights with the lowest validation value (the earliest of equal ones).
    BestValidated,
}

impl Checkpointing {
    /// Checkpoints in `dir` every `every` steps, where a trainer was given a folder.
    pub fn in_dir(dir: Option<&Path>, every: usize) -> Option<Self> {
        dir.map(|dir| Self {
            dir: dir.to_path_buf(),
            every,
        })
    }
}

/// A progress callback that never stops the fit (the trainers' `progress(step, loss)`).
pub fn reporting(
    progress: &mut dyn FnMut(usize, f32),
) -> impl FnMut(usize, f32) -> ControlFlow<()> {
    move |step, loss| {
        progress(step, loss);
        ControlFlow::Continue(())
    }
}

/// When a fit validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Never (a trainer without a validation set; the curve stays empty).
    Never,
    /// Every `steps` steps and after the last one; `first` says whether the initial weights
    /// are validated too.
    Every {
        /// Steps between validations.
        steps: usize,
        /// Whether the initial weights are validated.
        first: FirstValidation,
    },
}

/// How long a fit runs and what it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitPlan {
    /// Optimiser steps.
    pub steps: usize,
    /// When it validates.
    pub validation: Validation,
    /// Which weights are returned.
    pub keep: Keep,
    /// Checkpoints to resume from; `None` trains in memory only.
    pub checkpoint: Option<Checkpointing>,
}

/// How many times the first step's training loss a later one may reach before the fit counts
/// as diverged: no optimiser step that learns raises its loss a million-fold, while a loss that
/// explodes (an unstable learning rate) passes it long before it overflows (SchNet at a learning
/// rate of 1 reached 6e27 in 150 steps, and was recorded as an ordinary failure).
pub const EXPLODED: f32 = 1e6;

/// Whether a training loss means divergence: not finite, or [`EXPLODED`] times the first step's.
pub fn diverged(loss: f32, first: Option<f32>) -> bool {
    !loss.is_finite() || first.is_some_and(|first| first > 0.0 && loss > EXPLODED * first)
}

/// What a fit returns: the trained model and its loss curves.
#[derive(Debug, Clone)]
pub struct Fitted<M> {
    /// The kept weights ([`Keep`]).
    pub model: M,
    /// The step after which the kept weights were validated (the last step for [`Keep::Last`]).
    pub best_step: usize,
    /// Training loss of every step (resumed steps included).
    pub train_loss: Vec<LossPoint>,
    /// Validation loss before the first step, every `validate_every` steps and at the end.
    pub valid_loss: Vec<LossPoint>,
    /// Whether every planned step ran (false when the progress callback stopped the fit).
    pub complete: bool,
    /// Wall-clock seconds of training, summed over every segment of a resumed fit.
    pub seconds: f64,
    /// Each step's learning rate and training seconds so far ([`crate::train_log`]).
    pub log: Vec<LogRow>,
}

/// What a step's loss closure returns: the loss to differentiate and the loss its curve
/// records (and the divergence check reads).
pub trait StepLoss {
    /// (differentiated, recorded).
    fn parts(self) -> (Tensor<1>, Tensor<1>);
}

impl StepLoss for Tensor<1> {
    fn parts(self) -> (Tensor<1>, Tensor<1>) {
        (self.clone(), self)
    }
}

/// A penalised loss: the gradient is the total's, the curve records the data term alone (as
/// PDE-Net's training does, its sparsity penalties growing with each block).
#[derive(Debug, Clone)]
pub struct Penalised {
    /// Data term plus penalties.
    pub total: Tensor<1>,
    /// Data term.
    pub data: Tensor<1>,
}

impl StepLoss for Penalised {
    fn parts(self) -> (Tensor<1>, Tensor<1>) {
        (self.total, self.data)
    }
}

/// Progress saved beside the weights and the optimiser state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FitState<S> {
    step: usize,
    steps: usize,
    train_loss: Vec<LossPoint>,
    valid_loss: Vec<LossPoint>,
    /// What the batches are drawn with, as it stands after `step` steps.
    sampler: S,
    /// Step and validation value of the best weights so far ([`Keep::BestValidated`]).
    best: Option<(usize, f64)>,
    /// Wall-clock seconds of the steps and validations so far, over every segment.
    seconds: f64,
    /// Each step's learning rate and the seconds so far (empty in checkpoints from before).
    #[serde(default)]
    log: Vec<LogRow>,
}

const STATE: &str = "state.json";
const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const BEST: &str = "best.bpk";
/// The fit's `train_log.csv` in its checkpoint folder (the runner gathers them into the run's).
pub const LOG: &str = "train_log.csv";

/// Trains `model` for `plan.steps` Adam steps (burn's defaults: β 0.9/0.999, ε 1e-5) on
/// `step_loss(model, step, sampler)` at `learning_rate(step)`, validating with `validate`
/// (lower is better). `sampler` is what the batches are drawn with (an RNG stream, an
/// [`EpochOrder`], `()` when each step seeds its own RNG); it is saved with each checkpoint. With a checkpoint folder that
/// holds a fit of the same plan, resumes after its last saved step. `progress(step, loss)` is
/// called after every step; `ControlFlow::Break` saves a checkpoint (when checkpointing) and
/// returns the model so far with `complete = false`. In a data-parallel group the ranks train
/// as one (module docs).
///
/// # Errors
/// `TrainError::Diverged` at the first training loss that is not finite or has exploded
/// ([`diverged`]); `TrainError::Checkpoint` when
/// a checkpoint cannot be written, or one found cannot be read or belongs to another plan.
pub fn fit<M: Module, S: Serialize + DeserializeOwned, L: StepLoss>(
    plan: &FitPlan,
    mut model: M,
    sampler: S,
    learning_rate: impl Fn(usize) -> f64,
    mut step_loss: impl FnMut(&M, usize, &mut S) -> L,
    mut validate: impl FnMut(&M) -> f64,
    progress: &mut dyn FnMut(usize, f32) -> ControlFlow<()>,
) -> Result<Fitted<M>, TrainError> {
    let mut optimizer = AdamConfig::new().init();
    let mut state = FitState {
        step: 0,
        steps: plan.steps,
        train_loss: Vec::with_capacity(plan.steps),
        valid_loss: Vec::new(),
        sampler,
        best: None,
        seconds: 0.0,
        log: Vec::with_capacity(plan.steps),
    };
    let mut best_model: Option<M> = None;
    let resumed = match &plan.checkpoint {
        Some(checkpoint) if checkpoint.dir.join(STATE).exists() => {
            let saved = load(&checkpoint.dir, plan, &model)?;
            model = saved.model;
            optimizer = optimizer.load_record(saved.optimizer);
            best_model = saved.best;
            state = saved.state;
            true
        }
        _ => false,
    };
    let world = crate::distributed::world();
    let parallel = world.size() > 1;
    if parallel {
        model = crate::replicas::broadcast_weights(world.as_ref(), model);
    }
    let mut record_validation = |state: &mut FitState<S>, model: &M, best_model: &mut Option<M>| {
        let value = validate(model);
        state.valid_loss.push(LossPoint {
            step: state.step,
            loss: value as f32,
        });
        if plan.keep == Keep::BestValidated && state.best.is_none_or(|(_, b)| value < b) {
            state.best = Some((state.step, value));
            *best_model = Some(model.clone());
        }
    };
    let mut segment = Instant::now();
    let every = match plan.validation {
        Validation::Never => None,
        Validation::Every { steps, first } => {
            if !resumed && first == FirstValidation::BeforeTraining {
                record_validation(&mut state, &model, &mut best_model);
            }
            Some(steps.max(1))
        }
    };
    while state.step < plan.steps {
        let step = state.step;
        let (loss, recorded) = step_loss(&model, step, &mut state.sampler).parts();
        let mut scalar: f32 = recorded.into_scalar();
        let mut averaged = None;
        if parallel {
            // Every rank must see the same loss, so the ranks decide divergence together.
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            scalar = crate::replicas::all_reduce_gradients(
                world.as_ref(),
                &model,
                &mut grads,
                scalar,
                1.0,
                1.0,
            );
            averaged = Some(grads);
        }
        if diverged(scalar, state.train_loss.first().map(|p| p.loss)) {
            return Err(TrainError::Diverged { step, loss: scalar });
        }
        let grads =
            averaged.unwrap_or_else(|| GradientsParams::from_grads(loss.backward(), &model));
        let lr = learning_rate(step);
        model = optimizer.step(lr, model, grads);
        state.train_loss.push(LossPoint { step, loss: scalar });
        state.step = step + 1;
        if let Some(every) = every
            && (state.step.is_multiple_of(every) || state.step == plan.steps)
        {
            record_validation(&mut state, &model, &mut best_model);
        }
        state.seconds += segment.elapsed().as_secs_f64();
        segment = Instant::now();
        state.log.push(LogRow {
            step: state.step,
            lr,
            seconds: state.seconds,
        });
        let stop = progress(state.step, scalar).is_break();
        if let Some(checkpoint) = &plan.checkpoint
            && world.rank() == 0
            && (stop
                || state.step.is_multiple_of(checkpoint.every.max(1))
                || state.step == plan.steps)
        {
            save(
                &checkpoint.dir,
                &model,
                best_model.as_ref(),
                &optimizer,
                &state,
            )?;
        }
        if stop {
            break;
        }
    }
    let complete = state.step == plan.steps;
    let (model, best_step) = match (plan.keep, best_model, state.best) {
        (Keep::BestValidated, Some(best), Some((step, _))) => (best, step),
        _ => (model, state.step),
    };
    Ok(Fitted {
        complete,
        seconds: state.seconds,
        best_step,
        model,
        train_loss: state.train_loss,
        valid_loss: state.valid_loss,
        log: state.log,
    })
}

fn checkpoint_error(dir: &Path, problem: String) -> TrainError {
    TrainError::Checkpoint {
        path: dir.to_path_buf(),
        problem,
    }
}

/// Writes the checkpoint into a temporary folder that then replaces `dir` whole, so that a
/// crash mid-write leaves the previous checkpoint intact.
fn save<M: Module, S: Serialize>(
    dir: &Path,
    model: &M,
    best: Option<&M>,
    optimizer: &ModuleOptimizer,
    state: &FitState<S>,
) -> Result<(), TrainError> {
    let fail = |problem: String| checkpoint_error(dir, problem);
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| fail(e.to_string()))?;
    model
        .clone()
        .into_record()
        .save(tmp.join(MODEL))
        .map_err(|e| fail(format!("{MODEL}: {e:?}")))?;
    if let Some(best) = best {
        best.clone()
            .into_record()
            .save(tmp.join(BEST))
            .map_err(|e| fail(format!("{BEST}: {e:?}")))?;
    }
    optimizer
        .to_record()
        .save(tmp.join(OPTIMIZER))
        .map_err(|e| fail(format!("{OPTIMIZER}: {e:?}")))?;
    let text = serde_json::to_string(state).map_err(|e| fail(e.to_string()))?;
    std::fs::write(tmp.join(STATE), text).map_err(|e| fail(format!("{STATE}: {e}")))?;
    let log = crate::train_log::csv(&state.log, &state.train_loss, &state.valid_loss);
    std::fs::write(tmp.join(LOG), log).map_err(|e| fail(format!("{LOG}: {e}")))?;
    replace_dir(&tmp, dir).map_err(|e| fail(e.to_string()))
}

/// Puts the folder `tmp` in the place of `dir` (renames, so that a crash leaves either the old
/// folder or the new one whole).
pub(crate) fn replace_dir(tmp: &Path, dir: &Path) -> std::io::Result<()> {
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    std::fs::rename(tmp, dir)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// What a checkpoint restores.
struct Saved<M, S> {
    state: FitState<S>,
    model: M,
    best: Option<M>,
    optimizer: OptimizerRecord,
}

/// Reads a checkpoint written by [`save`] for the same plan, into models shaped like `like`.
fn load<M: Module, S: DeserializeOwned>(
    dir: &Path,
    plan: &FitPlan,
    like: &M,
) -> Result<Saved<M, S>, TrainError> {
    let fail = |problem: String| checkpoint_error(dir, problem);
    let text =
        std::fs::read_to_string(dir.join(STATE)).map_err(|e| fail(format!("{STATE}: {e}")))?;
    let state: FitState<S> =
        serde_json::from_str(&text).map_err(|e| fail(format!("{STATE}: {e}")))?;
    if state.steps != plan.steps || state.step > plan.steps {
        return Err(fail(format!(
            "a fit of {} steps saved at step {}; this one plans {} steps",
            state.steps, state.step, plan.steps
        )));
    }
    let weights = |file: &str| -> Result<M, TrainError> {
        let record =
            ModuleRecord::load(dir.join(file)).map_err(|e| fail(format!("{file}: {e:?}")))?;
        Ok(like.clone().load_record(record))
    };
    let best = match state.best {
        Some(_) => Some(weights(BEST)?),
        None => None,
    };
    let optimizer = OptimizerRecord::load(dir.join(OPTIMIZER))
        .map_err(|e| fail(format!("{OPTIMIZER}: {e:?}")))?;
    Ok(Saved {
        model: weights(MODEL)?,
        best,
        optimizer,
        state,
    })
}

/// The last step saved in the checkpoint folder `dir`, if it holds a fit.
pub fn saved_step(dir: &Path) -> Option<usize> {
    /// The one field read here (serde skips the others).
    #[derive(Deserialize)]
    struct Step {
        step: usize,
    }
    let text = std::fs::read_to_string(dir.join(STATE)).ok()?;
    serde_json::from_str::<Step>(&text).ok().map(|s| s.step)
}

/// Batches drawn as successive slices of a seeded shuffle of the examples, reshuffled whenever
/// one runs out (epochs), with the same RNG left to the trainer for its other draws (data
/// augmentation): a fit sampler that checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochOrder {
    /// The stream the shuffles (and the trainer's other draws) come from.
    pub rng: ChaCha8Rng,
    order: Vec<usize>,
    cursor: usize,
}

impl EpochOrder {
    /// `examples` indices, first shuffled at the first draw.
    pub fn new(examples: usize, rng: ChaCha8Rng) -> Self {
        Self {
            rng,
            order: (0..examples).collect(),
            cursor: examples,
        }
    }

    /// The next `count` indices.
    pub fn next_batch(&mut self, count: usize) -> Vec<usize> {
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count {
            if self.cursor == self.order.len() {
                self.order.shuffle(&mut self.rng);
                self.cursor = 0;
            }
            picked.push(self.order[self.cursor]);
            self.cursor += 1;
        }
        picked
    }
}

/// A curve whose step `k` is the loss of the step that ends at `k` (counted from 1), as the
/// grid cases' metrics record their training loss; the loop counts from 0.
pub(crate) fn counted_from_one(points: Vec<LossPoint>) -> Vec<LossPoint> {
    points
        .into_iter()
        .map(|p| LossPoint {
            step: p.step + 1,
            loss: p.loss,
        })
        .collect()
}

/// Epochs over the training set: at each epoch's first step the order is shuffled again (from
/// the previous epoch's order), then cut into batches, the last one shorter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochChunks {
    rng: ChaCha8Rng,
    order: Vec<usize>,
    batch_size: usize,
}

impl EpochChunks {
    /// `examples` indices in batches of `batch_size` (at least 1).
    pub fn new(examples: usize, batch_size: usize, rng: ChaCha8Rng) -> Self {
        Self {
            rng,
            order: (0..examples).collect(),
            batch_size: batch_size.max(1),
        }
    }

    /// Steps per epoch (the last batch of an epoch may be shorter).
    pub fn steps_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The examples of step `step` (steps are drawn in order, from 0).
    pub fn batch(&mut self, step: usize) -> &[usize] {
        let at = step % self.steps_per_epoch();
        if at == 0 {
            self.order.shuffle(&mut self.rng);
        }
        let start = at * self.batch_size;
        &self.order[start..(start + self.batch_size).min(self.order.len())]
    }
}
