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
use crate::{Bound, FieldError, Validate, count_in, learning_rates, network_memory, real_in, rule};
use crate::{Checkpointing, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{Mlp, MlpConfig, PeriodicCnn, PeriodicCnnConfig};
use learnsim_sim::plasma::{
    FieldSolver, FourierPoisson, PicHistory, PlasmaRecipe, Record, Scenario, ScenarioKind, Stencil,
    run_pic,
};
use learnsim_sim::{SimError, Split, trajectory_seed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `plasma-1d` case's configuration (`configs/plasma-1d.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlasmaConfig {
    /// Seed of the scenarios, initialisation and batches.
    pub seed: u64,
    /// The PIC and its scenarios (`[plasma]`).
    pub plasma: PlasmaRecipe,
    /// Trajectories in the train, validation and test sets; each set alternates two-stream and
    /// Landau runs, starting with two-stream.
    pub trajectories: [usize; 3],
    /// (ρ, E) pairs are kept every this many steps of each run.
    pub record_every: usize,
    /// The learned solver the bars judge, `"cnn"` or `"mlp"`: the one run in place of the
    /// Poisson solve for the bars (both are trained and rerun; the FFT always runs, as the
    /// truth).
    pub field_solver: FieldModel,
    /// The MLP (`[mlp]`).
    pub mlp: MlpShape,
    /// The periodic CNN (`[cnn]`).
    pub cnn: CnnShape,
    /// Adam steps per network.
    pub steps: usize,
    /// Pairs per step.
    pub batch_size: usize,
    /// The training loss (absent: `relative`).
    #[serde(default)]
    pub loss: FieldLoss,
    /// Learning rate at step 0 …
    pub lr_initial: f64,
    /// … and at the last step (geometric in between).
    pub lr_final: f64,
    /// Validation every this many steps; the weights with the lowest validation error are kept.
    pub validate_every: usize,
    /// Landau damping is fitted over the field's peaks in this time window (1/ω_p).
    pub landau_fit: [f64; 2],
    /// The two-stream growth is fitted from when the mode's power exceeds `[0]`× its initial
    /// value to when it reaches `[1]`× its maximum.
    pub growth_fit: [f64; 2],
    /// Times (1/ω_p) of the phase-space snapshots drawn for two-stream test run 0.
    pub phase_space_times: [f64; 3],
}

/// Which network replaces the Poisson solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldModel {
    /// The paper's fully connected network.
    Mlp,
    /// The periodic 1D CNN.
    Cnn,
}

impl FieldModel {
    /// Both, the order the case reports them in.
    pub const ALL: [Self; 2] = [Self::Mlp, Self::Cnn];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mlp => "mlp",
            Self::Cnn => "cnn",
        }
    }
}

/// What the networks minimise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldLoss {
    /// The mean squared error of the scaled target E/(‖ρ‖·L·σ) over nodes and pairs.
    Mse,
    /// The mean over pairs of ‖Ê − E‖² / ‖E‖²: the square of the relative L2 error the case
    /// scores, so that a pair whose field is small for its ‖ρ‖ (a noise-floor frame, where
    /// the 1/k of the solve leaves little field) weighs as much as any other. The default:
    /// measured, it takes the CNN's one-step error from 5.3e-3 to 3.9e-5 (docs/plasma.md).
    #[default]
    Relative,
}

/// `[mlp]`: cells → `layers` × `hidden` ReLU → cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpShape {
    /// Width of every hidden layer.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
}

/// `[cnn]`: see [`PeriodicCnnConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnnShape {
    /// Channels of every hidden layer.
    pub channels: usize,
    /// Width of the local kernels (odd).
    pub local_kernel: usize,
    /// Local layers after the global one.
    pub local_layers: usize,
}

impl Validate for PlasmaConfig {
    fn validate(&self) -> Result<(), FieldError> {
        let p = &self.plasma;
        count_in("plasma.dimensions", p.dimensions, 1, 2)?;
        count_in(
            "plasma.cells",
            p.cells,
            8,
            if p.dimensions == 2 { 512 } else { 4096 },
        )?;
        count_in("plasma.particles", p.particles, 2 * p.cells, 100_000_000)?;
        real_in("plasma.dt", p.dt, 0.0, 1.0, Bound::Exclusive)?;
        let t = &p.two_stream;
        range("plasma.two_stream.v0", t.v0, 1e-3, 1e3)?;
        range("plasma.two_stream.k_v0", t.k_v0, 1e-3, 10.0)?;
        count_in("plasma.two_stream.modes[0]", t.modes[0], 1, p.cells / 4)?;
        count_in(
            "plasma.two_stream.modes[1]",
            t.modes[1],
            t.modes[0],
            p.cells / 4,
        )?;
        range("plasma.two_stream.amplitude", t.amplitude, 1e-12, 0.5)?;
        real_in(
            "plasma.two_stream.thermal_velocity",
            t.thermal_velocity,
            0.0,
            1e3,
            Bound::Inclusive,
        )?;
        count_in("plasma.two_stream.steps", t.steps, 10, 10_000_000)?;
        let l = &p.landau;
        range("plasma.landau.k", l.k, 0.05, 2.0)?;
        range("plasma.landau.amplitude", l.amplitude, 1e-6, 0.5)?;
        count_in("plasma.landau.steps", l.steps, 10, 10_000_000)?;
        count_in("trajectories[0]", self.trajectories[0], 2, 100_000)?;
        count_in("trajectories[1]", self.trajectories[1], 1, 100_000)?;
        count_in("trajectories[2]", self.trajectories[2], 2, 100_000)?;
        count_in("record_every", self.record_every, 1, 1_000_000)?;
        count_in("mlp.hidden", self.mlp.hidden, 1, 65_536)?;
        count_in("mlp.layers", self.mlp.layers, 1, 64)?;
        network_memory(
            "mlp.hidden",
            self.mlp.hidden,
            1,
            self.mlp.layers + 1,
            self.mlp.hidden,
        )?;
        count_in("cnn.channels", self.cnn.channels, 1, 4096)?;
        count_in("cnn.local_kernel", self.cnn.local_kernel, 1, p.cells)?;
        if self.cnn.local_kernel.is_multiple_of(2) {
            return Err(rule(
                "cnn.local_kernel",
                self.cnn.local_kernel,
                "allowed an odd width (centred kernels)",
            ));
        }
        count_in("cnn.local_layers", self.cnn.local_layers, 0, 64)?;
        count_in("steps", self.steps, 1, 1_000_000_000)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        learning_rates(self.lr_initial, self.lr_final)?;
        count_in("validate_every", self.validate_every, 1, 1_000_000_000)?;
        let landau_end = l.steps as f64 * p.dt;
        real_in(
            "landau_fit[0]",
            self.landau_fit[0],
            0.0,
            landau_end,
            Bound::Inclusive,
        )?;
        real_in(
            "landau_fit[1]",
            self.landau_fit[1],
            self.landau_fit[0],
            landau_end,
            Bound::Exclusive,
        )?;
        real_in(
            "growth_fit[0]",
            self.growth_fit[0],
            1.0,
            1e12,
            Bound::Inclusive,
        )?;
        real_in(
            "growth_fit[1]",
            self.growth_fit[1],
            0.0,
            1.0,
            Bound::Exclusive,
        )?;
        let end = t.steps as f64 * p.dt;
        for (i, &time) in self.phase_space_times.iter().enumerate() {
            real_in(
                &format!("phase_space_times[{i}]"),
                time,
                0.0,
                end,
                Bound::Inclusive,
            )?;
        }
        Ok(())
    }
}

/// An ordered range [lo, hi] with lo ≥ `min` > 0 and hi ≤ `max`.
fn range(field: &str, r: [f64; 2], min: f64, max: f64) -> Result<(), FieldError> {
    real_in(&format!("{field}[0]"), r[0], min, max, Bound::Inclusive)?;
    real_in(&format!("{field}[1]"), r[1], r[0], max, Bound::Inclusive)
}

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

/// The Aguilar–Markidis field solve: a trained network in place of the Poisson solve.
#[derive(Debug, Clone)]
pub struct LearnedSolver<M> {
    network: M,
    scale: FieldScale,
    /// Nodes per axis.
    cells: usize,
    device: Device,
}

impl<M: FieldNetwork> LearnedSolver<M> {
    /// `network` for grids of `cells` nodes per axis, on an inference `device`.
    pub fn new(network: M, scale: FieldScale, cells: usize, device: Device) -> Self {
        Self {
            network,
            scale,
            cells,
            device,
        }
    }

    /// E of every row of `rho` (box lengths `length`), one batch.
    ///
    /// # Shapes
    /// - `rho`: `[batch][cells^D]` → `[batch][D × cells^D]`
    pub fn predict(&self, rho: &[Vec<f64>], length: &[f64]) -> Vec<Vec<f64>> {
        let nodes = rho[0].len();
        let mut out = Vec::with_capacity(rho.len());
        for (chunk, lengths) in rho.chunks(4096).zip(length.chunks(4096)) {
            let norms: Vec<f64> = chunk.iter().map(|r| rms(r)).collect();
            let x: Vec<f32> = chunk
                .iter()
                .zip(&norms)
                .flat_map(|(r, &s)| r.iter().map(move |v| (v / s.max(1e-300)) as f32))
                .collect();
            let x = Tensor::from_data(TensorData::new(x, [chunk.len(), nodes]), &self.device);
            let y = self.network.forward(x);
            let [_, width] = y.dims();
            let y = y.into_data().try_into_vec::<f32>().expect("f32 field");
            for ((row, &s), &length) in y.chunks(width).zip(&norms).zip(lengths) {
                let factor = s * length * self.scale.output_std;
                out.push(row.iter().map(|&v| f64::from(v) * factor).collect());
            }
        }
        out
    }

    /// Mean over `pairs` of ‖E_pred − E‖₂ / ‖E‖₂.
    pub fn mean_relative_error(&self, pairs: &FieldPairs) -> f64 {
        self.relative_errors(pairs).iter().sum::<f64>() / pairs.len().max(1) as f64
    }

    /// ‖E_pred − E‖₂ / ‖E‖₂ of each pair.
    pub fn relative_errors(&self, pairs: &FieldPairs) -> Vec<f64> {
        if pairs.is_empty() {
            return Vec::new();
        }
        let predicted = self.predict(&pairs.rho, &pairs.length);
        predicted
            .iter()
            .zip(&pairs.e)
            .map(|(p, e)| relative_l2(p, e))
            .collect()
    }
}

impl<M: FieldNetwork> FieldSolver for LearnedSolver<M> {
    fn solve(&mut self, rho: &[f64], dx: f64, e: &mut [f64]) {
        let s = rms(rho);
        if s == 0.0 {
            e.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        let length = dx * self.cells as f64;
        let row = self.predict(&[rho.to_vec()], &[length]);
        e.copy_from_slice(&row[0]);
    }
}

/// The MLP of `config`: cells^D → hidden … → D·cells^D, no LayerNorm.
pub fn mlp(config: &PlasmaConfig, device: &Device) -> Mlp {
    let d = config.plasma.dimensions;
    let nodes = config.plasma.cells.pow(d as u32);
    MlpConfig::new(
        nodes,
        config.mlp.hidden,
        config.mlp.layers,
        d * nodes,
        false,
    )
    .init(device)
}

/// The periodic CNN of `config`.
pub fn cnn(config: &PlasmaConfig, device: &Device) -> PeriodicCnn {
    PeriodicCnnConfig::new(
        config.plasma.cells,
        config.cnn.channels,
        config.cnn.local_kernel,
        config.cnn.local_layers,
    )
    .with_dimensions(config.plasma.dimensions)
    .init(device)
}
