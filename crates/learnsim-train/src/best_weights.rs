//! The bookkeeping of a training loop that validates every few steps and keeps the weights
//! of the lowest validation error (the grid cases' loops).

use crate::trainer::LossPoint;
use burn::module::Module;

/// Loss curves and the best validated weights so far.
#[derive(Debug)]
pub(crate) struct BestWeights<M> {
    pub train_loss: Vec<LossPoint>,
    pub valid_error: Vec<LossPoint>,
    best: (f64, usize, M),
}

impl<M: Module> BestWeights<M> {
    /// Starts from the untrained model and its validation error (step 0).
    pub fn new(model: &M, error: f64) -> Self {
        Self {
            train_loss: Vec::new(),
            valid_error: vec![LossPoint {
                step: 0,
                loss: error as f32,
            }],
            best: (error, 0, model.clone()),
        }
    }

    /// Records the training loss of `step` (1-based).
    pub fn trained(&mut self, step: usize, loss: f32) {
        self.train_loss.push(LossPoint { step, loss });
    }

    /// Records a validation after `step` and keeps `model` if it is the best so far.
    pub fn validated(&mut self, step: usize, error: f64, model: &M) {
        self.valid_error.push(LossPoint {
            step,
            loss: error as f32,
        });
        if error < self.best.0 {
            self.best = (error, step, model.clone());
        }
    }

    /// The best weights (for inference) and the step they come from.
    pub fn into_best(self) -> (M, usize, Vec<LossPoint>, Vec<LossPoint>) {
        (
            self.best.2.valid(),
            self.best.1,
            self.train_loss,
            self.valid_error,
        )
    }
}
