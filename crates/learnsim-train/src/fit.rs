//! The shared fit loop: each step's loss, Adam at the step's learning rate, a stop on a
//! non-finite loss, validation, and checkpoints that a killed run resumes from.
//!
//! A step's batch must be a function of the step alone (drawn from an RNG seeded by the run's
//! seed and the step, as every case's trainer does), so that a resumed fit draws the batches
//! the uninterrupted one would have: with the weights, Adam's moments and the loss history
//! restored, the resumed fit is the uninterrupted one, bit for bit (tested).

use crate::{LossPoint, TrainError};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Where a fit saves itself, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpointing {
    /// The checkpoint folder (replaced whole at each save).
    pub dir: PathBuf,
    /// Steps between saves (the last step is always saved).
    pub every: usize,
}

/// How long a fit runs and what it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitPlan {
    /// Optimiser steps.
    pub steps: usize,
    /// Steps between validations (also after the last step, and before the first).
    pub validate_every: usize,
    /// Checkpoints to resume from; `None` trains in memory only.
    pub checkpoint: Option<Checkpointing>,
}

/// What a fit returns: the trained model and its loss curves.
#[derive(Debug, Clone)]
pub struct Fitted<M> {
    /// The model after the last step.
    pub model: M,
    /// Training loss of every step (resumed steps included).
    pub train_loss: Vec<LossPoint>,
    /// Validation loss before the first step, every `validate_every` steps and at the end.
    pub valid_loss: Vec<LossPoint>,
    /// Whether every planned step ran (false when the progress callback stopped the fit).
    pub complete: bool,
}

/// Progress saved beside the weights and the optimiser state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FitState {
    step: usize,
    steps: usize,
    train_loss: Vec<LossPoint>,
    valid_loss: Vec<LossPoint>,
}

const STATE: &str = "state.json";
const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";

/// Trains `model` for `plan.steps` Adam steps (burn's defaults: β 0.9/0.999, ε 1e-5) on
/// `step_loss(model, step)` at `learning_rate(step)`, validating with `validate`. With a
/// checkpoint folder that holds a fit of the same plan, resumes after its last saved step.
/// `progress(step, loss)` is called after every step; `ControlFlow::Break` saves a checkpoint
/// (when checkpointing) and returns the model so far with `complete = false`.
///
/// # Errors
/// `TrainError::Diverged` at the first non-finite training loss; `TrainError::Checkpoint` when
/// a checkpoint cannot be written, or one found cannot be read or belongs to another plan.
pub fn fit<M: Module>(
    plan: &FitPlan,
    mut model: M,
    learning_rate: impl Fn(usize) -> f64,
    mut step_loss: impl FnMut(&M, usize) -> Tensor<1>,
    mut validate: impl FnMut(&M) -> f32,
    progress: &mut dyn FnMut(usize, f32) -> ControlFlow<()>,
) -> Result<Fitted<M>, TrainError> {
    let mut optimizer = AdamConfig::new().init();
    let mut state = FitState {
        step: 0,
        steps: plan.steps,
        train_loss: Vec::with_capacity(plan.steps),
        valid_loss: Vec::new(),
    };
    if let Some(checkpoint) = &plan.checkpoint
        && checkpoint.dir.join(STATE).exists()
    {
        let (saved, record, weights) = load(&checkpoint.dir, plan)?;
        model = model.load_record(weights);
        optimizer = optimizer.load_record(record);
        state = saved;
    }
    if state.valid_loss.is_empty() {
        state.valid_loss.push(LossPoint {
            step: 0,
            loss: validate(&model),
        });
    }
    let every = plan.validate_every.max(1);
    while state.step < plan.steps {
        let step = state.step;
        let value = step_loss(&model, step);
        let scalar: f32 = value.clone().into_scalar();
        if !scalar.is_finite() {
            return Err(TrainError::Diverged { step, loss: scalar });
        }
        let grads = GradientsParams::from_grads(value.backward(), &model);
        model = optimizer.step(learning_rate(step), model, grads);
        state.train_loss.push(LossPoint { step, loss: scalar });
        state.step = step + 1;
        if state.step.is_multiple_of(every) || state.step == plan.steps {
            state.valid_loss.push(LossPoint {
                step: state.step,
                loss: validate(&model),
            });
        }
        let stop = progress(state.step, scalar).is_break();
        if let Some(checkpoint) = &plan.checkpoint
            && (stop
                || state.step.is_multiple_of(checkpoint.every.max(1))
                || state.step == plan.steps)
        {
            save(&checkpoint.dir, &model, &optimizer, &state)?;
        }
        if stop {
            break;
        }
    }
    Ok(Fitted {
        complete: state.step == plan.steps,
        model,
        train_loss: state.train_loss,
        valid_loss: state.valid_loss,
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
fn save<M: Module>(
    dir: &Path,
    model: &M,
    optimizer: &ModuleOptimizer,
    state: &FitState,
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
    optimizer
        .to_record()
        .save(tmp.join(OPTIMIZER))
        .map_err(|e| fail(format!("{OPTIMIZER}: {e:?}")))?;
    let text = serde_json::to_string(state).map_err(|e| fail(e.to_string()))?;
    std::fs::write(tmp.join(STATE), text).map_err(|e| fail(format!("{STATE}: {e}")))?;
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| fail(e.to_string()))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| fail(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Reads a checkpoint written by [`save`] for the same plan.
fn load(
    dir: &Path,
    plan: &FitPlan,
) -> Result<(FitState, OptimizerRecord, ModuleRecord), TrainError> {
    let fail = |problem: String| checkpoint_error(dir, problem);
    let text =
        std::fs::read_to_string(dir.join(STATE)).map_err(|e| fail(format!("{STATE}: {e}")))?;
    let state: FitState = serde_json::from_str(&text).map_err(|e| fail(format!("{STATE}: {e}")))?;
    if state.steps != plan.steps || state.step > plan.steps {
        return Err(fail(format!(
            "a fit of {} steps saved at step {}; this one plans {} steps",
            state.steps, state.step, plan.steps
        )));
    }
    let weights =
        ModuleRecord::load(dir.join(MODEL)).map_err(|e| fail(format!("{MODEL}: {e:?}")))?;
    let record = OptimizerRecord::load(dir.join(OPTIMIZER))
        .map_err(|e| fail(format!("{OPTIMIZER}: {e:?}")))?;
    Ok((state, record, weights))
}

/// The last step saved in the checkpoint folder `dir`, if it holds a fit.
pub fn saved_step(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join(STATE)).ok()?;
    serde_json::from_str::<FitState>(&text).ok().map(|s| s.step)
}
