//! The `plasma-1d` case's learned field solver (Aguilar & Markidis 2021): a network from the
//! grid's charge density ρ to its electric field E, trained on (ρ, E) pairs of PIC runs and then
//! run inside the PIC loop in place of the FFT Poisson solve.
//!
//! Scale. Poisson's equation is linear and, on a grid of fixed node count, E scales with the
//! box length L (E_k = −iρ_k/k, k = 2πm/L). The network therefore sees ρ/‖ρ‖ (‖·‖ the RMS
//! over nodes) and predicts E/(‖ρ‖·L), divided by the training set's standard deviation of
//! that quantity: one network serves every box length and every perturbation amplitude (the
//! two-stream runs span six decades of ‖ρ‖ from the seed perturbation to saturation).

use crate::object_dynamics::seeded_init;
use crate::trainer::{LossPoint, TrainError};
use crate::{Checkpointing, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{Mlp, PeriodicCnn};
use learnsim_sim::plasma::{
    FieldSolver, FourierPoisson, PicHistory, Record, Scenario, ScenarioKind, Stencil, run_pic,
};
use learnsim_sim::{SimError, Split, trajectory_seed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

mod config;
mod solver;

pub use config::{CnnShape, FieldLoss, FieldModel, MlpShape, PlasmaConfig};
pub use solver::{LearnedSolver, cnn, mlp};

/// One simulated trajectory: its scenario and the FFT-solver run.
#[derive(Debug, Clone)]
pub struct PlasmaRun {
    /// The drawn physics.
    pub scenario: Scenario,
    /// The run (fields recorded every `record_every` steps).
    pub history: PicHistory,
}

impl PlasmaConfig {
    /// The scenario of trajectory `index` of `split` (two-stream at even indices).
    pub fn scenario(&self, split: Split, index: usize) -> Scenario {
        let kind = if index.is_multiple_of(2) {
            ScenarioKind::TwoStream
        } else {
            ScenarioKind::Landau
        };
        Scenario::draw(&self.plasma, kind, trajectory_seed(self.seed, split, index))
    }

    /// The step nearest each of `phase_space_times`.
    pub fn phase_space_steps(&self) -> Vec<usize> {
        self.phase_space_times
            .iter()
            .map(|t| (t / self.plasma.dt).round() as usize)
            .collect()
    }

    /// Runs `scenario` with `solver` on a grid of `cells` per axis in the recipe's dimensions,
    /// recording fields every `record_every` steps and phase space at
    /// [`Self::phase_space_steps`].
    ///
    /// # Errors
    /// The PIC's: a non-finite state.
    pub fn run(
        &self,
        scenario: Scenario,
        cells: usize,
        solver: &mut dyn FieldSolver,
    ) -> Result<PicHistory, SimError> {
        match self.plasma.dimensions {
            2 => self.run_in::<2>(scenario, cells, solver),
            _ => self.run_in::<1>(scenario, cells, solver),
        }
    }

    fn run_in<const D: usize>(
        &self,
        scenario: Scenario,
        cells: usize,
        solver: &mut dyn FieldSolver,
    ) -> Result<PicHistory, SimError> {
        let electrons = scenario.electrons::<D>(&self.plasma)?;
        let record = Record {
            fields_every: self.record_every,
            phase_space_at: self.phase_space_steps(),
            mode: scenario.mode(),
        };
        run_pic(
            scenario.grid::<D>(cells),
            &electrons,
            self.plasma.dt,
            scenario.steps(&self.plasma),
            solver,
            &record,
        )
    }

    /// The Poisson solver with `stencil` on a grid of `cells` per axis in the recipe's
    /// dimensions.
    pub fn poisson(&self, cells: usize, stencil: Stencil) -> FourierPoisson {
        FourierPoisson::with_dimensions(cells, self.plasma.dimensions, stencil)
    }

    /// The FFT-solver runs of the first `count` trajectories of `split`, in parallel.
    ///
    /// # Errors
    /// The PIC's.
    pub fn simulate(&self, split: Split, count: usize) -> Result<Vec<PlasmaRun>, SimError> {
        (0..count)
            .into_par_iter()
            .map(|i| {
                let scenario = self.scenario(split, i);
                let mut fft = self.poisson(self.plasma.cells, Stencil::Spectral);
                let history = self.run(scenario, self.plasma.cells, &mut fft)?;
                Ok(PlasmaRun { scenario, history })
            })
            .collect()
    }
}

/// (ρ, E) pairs of runs with each pair's box length.
#[derive(Debug, Clone, Default)]
pub struct FieldPairs {
    /// ρ, one row of `cells` per pair.
    pub rho: Vec<Vec<f64>>,
    /// E, one row per pair.
    pub e: Vec<Vec<f64>>,
    /// Box length of each pair.
    pub length: Vec<f64>,
}

impl FieldPairs {
    /// Every recorded frame of `runs` whose ρ is not identically zero.
    pub fn of(runs: &[PlasmaRun]) -> Self {
        let mut pairs = Self::default();
        for run in runs {
            for frame in &run.history.fields {
                if rms(&frame.rho) > 0.0 {
                    pairs.rho.push(frame.rho.clone());
                    pairs.e.push(frame.e.clone());
                    pairs.length.push(run.history.length);
                }
            }
        }
        pairs
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.rho.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rho.is_empty()
    }
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

/// ‖a − b‖₂ / ‖b‖₂, the one-step error the case scores (the surrogate cases' measure).
pub use crate::nanophotonics::relative_l2;

/// The network's output scale: E/(‖ρ‖·L) divided by `output_std` is what it predicts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FieldScale {
    /// Standard deviation of E/(‖ρ‖·L) over the training pairs' nodes.
    pub output_std: f64,
}

impl FieldScale {
    fn fit(pairs: &FieldPairs) -> Self {
        let (mut sum, mut count) = (0.0, 0usize);
        for ((rho, e), length) in pairs.rho.iter().zip(&pairs.e).zip(&pairs.length) {
            let s = rms(rho) * length;
            sum += e.iter().map(|v| (v / s).powi(2)).sum::<f64>();
            count += e.len();
        }
        Self {
            output_std: (sum / count as f64).sqrt().max(1e-30),
        }
    }

    /// Network inputs and targets of the pairs `pick`.
    fn batch(&self, pairs: &FieldPairs, pick: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for &i in pick {
            let s = rms(&pairs.rho[i]);
            x.extend(pairs.rho[i].iter().map(|v| (v / s) as f32));
            let out = s * pairs.length[i] * self.output_std;
            y.extend(pairs.e[i].iter().map(|v| (v / out) as f32));
        }
        (x, y)
    }
}

/// A network that maps `[batch, cells]` to `[batch, cells]`.
pub trait FieldNetwork: Module + Clone + std::fmt::Debug {
    /// # Shapes
    /// - `rho`: `[batch, cells]` → `[batch, cells]`
    fn forward(&self, rho: Tensor<2>) -> Tensor<2>;
}

impl FieldNetwork for Mlp {
    fn forward(&self, rho: Tensor<2>) -> Tensor<2> {
        Mlp::forward(self, rho)
    }
}

impl FieldNetwork for PeriodicCnn {
    fn forward(&self, rho: Tensor<2>) -> Tensor<2> {
        PeriodicCnn::forward(self, rho)
    }
}

/// A trained network with its scale and curves.
#[derive(Debug, Clone)]
pub struct TrainedField<M> {
    /// The weights with the lowest validation error.
    pub network: M,
    /// Output scale.
    pub scale: FieldScale,
    /// Training loss (normalised MSE) per step.
    pub train_loss: Vec<LossPoint>,
    /// Mean relative L2 error of E on the validation pairs at each validation.
    pub valid_error: Vec<LossPoint>,
    /// Step whose weights were kept.
    pub best_step: usize,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

/// Trains `network` with Adam on the normalised MSE, the learning rate geometric from
/// `lr_initial` to `lr_final`, through the shared fit loop: the weights with the lowest
/// validation error are kept, and with `checkpoint` the fit saves itself there every
/// `validate_every` steps and resumes from a checkpoint of the same plan; `progress(step,
/// loss)` after every step.
///
/// # Errors
/// [`TrainError::Data`] without pairs, [`TrainError::Diverged`] on a non-finite loss,
/// [`TrainError::Checkpoint`] on a checkpoint that cannot be written or read.
pub fn train_field<M: FieldNetwork>(
    config: &PlasmaConfig,
    init: impl Fn(&Device) -> M,
    train: &FieldPairs,
    valid: &FieldPairs,
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedField<M>, TrainError> {
    if train.is_empty() || valid.is_empty() {
        return Err(TrainError::Data(
            "plasma-1d: no (ρ, E) pairs to train or validate on".into(),
        ));
    }
    let (inputs, outputs) = (train.rho[0].len(), train.e[0].len());
    let cells = config.plasma.cells;
    let scale = FieldScale::fit(train);
    let model = seeded_init(device, config.seed, || init(device));
    let inference = device.clone().inner();
    let plan = FitPlan {
        steps: config.steps,
        validation: Validation::Every {
            steps: config.validate_every,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::BestValidated,
        checkpoint: Checkpointing::in_dir(checkpoint, config.validate_every),
    };
    let ratio = config.lr_final / config.lr_initial;
    let fitted = crate::fit(
        &plan,
        model,
        ChaCha8Rng::seed_from_u64(config.seed ^ 0x00F1_E1D5),
        |step| config.lr_initial * ratio.powf(step as f64 / config.steps as f64),
        |model, _, rng| {
            let pick: Vec<usize> = (0..config.batch_size)
                .map(|_| rng.random_range(0..train.len()))
                .collect();
            let (x, y) = scale.batch(train, &pick);
            let x = Tensor::from_data(TensorData::new(x, [pick.len(), inputs]), device);
            let y = Tensor::from_data(TensorData::new(y, [pick.len(), outputs]), device);
            let diff = model.forward(x) - y.clone();
            match config.loss {
                FieldLoss::Mse => (diff.clone() * diff).mean(),
                FieldLoss::Relative => {
                    let error = (diff.clone() * diff).sum_dim(1);
                    let norm = (y.clone() * y).sum_dim(1).add_scalar(1e-12);
                    (error / norm).mean()
                }
            }
        },
        |model| {
            let solver = LearnedSolver::new(model.clone().valid(), scale, cells, inference.clone());
            solver.mean_relative_error(valid)
        },
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedField {
        network: fitted.model.valid(),
        scale,
        train_loss: fitted.train_loss,
        valid_error: fitted.valid_loss,
        best_step: fitted.best_step,
        seconds: fitted.seconds,
    })
}

impl<M: FieldNetwork> TrainedField<M> {
    /// The trained network as a field solver for grids of `cells` nodes per axis, on an
    /// inference `device`.
    pub fn solver(&self, cells: usize, device: Device) -> LearnedSolver<M> {
        LearnedSolver::new(self.network.clone(), self.scale, cells, device)
    }
}
