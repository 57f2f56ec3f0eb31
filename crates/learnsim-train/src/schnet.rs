//! SchNet on Stillinger–Weber silicon clusters: training on energies and, with a force weight,
//! on forces (force matching without double backward, see [`force_matching_loss`]),
//! predictions with forces by autodiff, the least-squares pair-potential baseline and NVE runs
//! driven by any force field.

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, EpochOrder, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{AtomsGraph, SchNet, SchNetConfig};
use learnsim_sim::stillinger_weber::{Configuration, EnergyForces};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `schnet-si` case's configuration (`configs/schnet-si.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchNetTrainConfig {
    /// Seed of the sampling, initialisation and batches.
    pub seed: u64,
    /// Cluster sizes (atoms).
    pub cluster_sizes: Vec<usize>,
    /// Configurations sampled per cluster size (split 80/10/10).
    pub configurations: usize,
    /// Feature width F.
    pub features: usize,
    /// Interaction blocks.
    pub interactions: usize,
    /// Gaussians of the radial basis.
    pub n_rbf: usize,
    /// Cutoff (Å).
    pub cutoff: f64,
    /// Hidden width of the atomwise readout.
    pub readout_hidden: usize,
    /// Optimiser steps.
    pub steps: usize,
    /// Configurations per batch.
    pub batch_size: usize,
    /// Learning rate at step 0.
    pub lr_initial: f64,
    /// Learning rate approached at the end.
    pub lr_final: f64,
    /// lr = (lr_initial − lr_final)·0.1^(step / lr_decay_steps) + lr_final.
    pub lr_decay_steps: f64,
    /// Weight of the normalised energy MSE in the loss.
    #[serde(default = "one")]
    pub energy_weight: f64,
    /// Weight of the normalised force MSE in the loss (0: energies only, as before forces
    /// entered the loss).
    #[serde(default)]
    pub force_weight: f64,
    /// RMS displacement per coordinate (Å) of the central difference that gives the force
    /// term's parameter gradient ([`force_matching_loss`]).
    #[serde(default = "default_force_step")]
    pub force_step: f64,
    /// Validation loss every this many steps.
    pub validate_every: usize,
    /// NVE steps of the energy-conservation bar.
    pub nve_steps: usize,
    /// NVE time step (fs).
    pub nve_dt: f64,
    /// Temperature of the NVE run's initial velocities (K).
    pub nve_temperature: f64,
    /// Held-out starts per cluster size relaxed by FIRE under each force field, and as many
    /// random structures (0: no relaxation stage).
    #[serde(default = "default_relax_starts")]
    pub relax_starts: usize,
    /// FIRE's force tolerance (eV/Å).
    #[serde(default = "default_relax_fmax")]
    pub relax_fmax: f64,
    /// FIRE's step limit per relaxation.
    #[serde(default = "default_relax_max_steps")]
    pub relax_max_steps: usize,
}

fn default_relax_starts() -> usize {
    50
}

fn default_relax_fmax() -> f64 {
    0.01
}

fn default_relax_max_steps() -> usize {
    2000
}

fn one() -> f64 {
    1.0
}

/// The central difference's RMS displacement per coordinate: 3e-3 Å. Its O(h²) error is
/// 1e-4 of the gradient's size, measured against an f64 reference in
/// `tests/schnet_f64.rs` (h from 1e-3 to 1e-1); f32 rounding of the displaced positions
/// (2.4e-7 Å at a few Å, over h) adds 1e-4; both are far below a minibatch's noise.
pub const DEFAULT_FORCE_STEP: f64 = 3e-3;

fn default_force_step() -> f64 {
    DEFAULT_FORCE_STEP
}

impl SchNetTrainConfig {
    /// The learning rate at `step`.
    pub fn learning_rate(&self, step: usize) -> f64 {
        crate::config::exponential_decay(self.lr_initial, self.lr_final, self.lr_decay_steps, step)
    }

    /// The network's sizes.
    pub fn network(&self) -> SchNetConfig {
        SchNetConfig::new()
            .with_features(self.features)
            .with_interactions(self.interactions)
            .with_n_rbf(self.n_rbf)
            .with_cutoff(self.cutoff)
            .with_readout_hidden(self.readout_hidden)
    }
}

/// Energy normalisation: `E ≈ n·per_atom + scale·y`, with `y` the network's output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnergyScale {
    /// Mean energy per atom of the training set (eV).
    pub per_atom: f64,
    /// Standard deviation of `E − n·per_atom` over the training set (eV).
    pub scale: f64,
}

impl EnergyScale {
    /// Fitted on `train`.
    pub fn fit(train: &[Configuration]) -> Self {
        let atoms: usize = train.iter().map(|c| c.positions.len()).sum();
        let per_atom = train.iter().map(|c| c.energy).sum::<f64>() / atoms as f64;
        let residual: Vec<f64> = train
            .iter()
            .map(|c| c.energy - per_atom * c.positions.len() as f64)
            .collect();
        let mean = residual.iter().sum::<f64>() / residual.len() as f64;
        let var = residual.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / residual.len() as f64;
        Self {
            per_atom,
            scale: var.sqrt().max(1e-6),
        }
    }
}

/// A trained SchNet with its normalisation.
#[derive(Debug, Clone)]
pub struct TrainedSchNet {
    /// The network (on the autodiff device, so forces can be taken).
    pub model: SchNet,
    /// Energy normalisation.
    pub scale: EnergyScale,
    /// Training loss per step (normalised energy MSE, plus the weighted force MSE when forces
    /// are in the loss).
    pub train_loss: Vec<LossPoint>,
    /// Validation loss at step 0 and every `validate_every` steps.
    pub valid_loss: Vec<LossPoint>,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

fn flat_positions(configs: &[&Configuration]) -> Vec<f32> {
    configs
        .iter()
        .flat_map(|c| c.positions.iter().flat_map(|p| p.map(|v| v as f32)))
        .collect()
}

fn batch_loss(
    model: &SchNet,
    scale: &EnergyScale,
    configs: &[&Configuration],
    device: &Device,
) -> Tensor<1> {
    let sizes: Vec<usize> = configs.iter().map(|c| c.positions.len()).collect();
    let graph = AtomsGraph::new(&sizes);
    let positions = Tensor::<2>::from_data(
        TensorData::new(flat_positions(configs), [graph.n_atoms(), 3]),
        device,
    );
    let targets = Tensor::<1>::from_data(
        TensorData::new(energy_targets(scale, configs), [configs.len()]),
        device,
    );
    (model.forward(positions, &graph) - targets)
        .powf_scalar(2.0)
        .mean()
}

/// The normalised energy targets `(E − n·per_atom)/scale`.
fn energy_targets(scale: &EnergyScale, configs: &[&Configuration]) -> Vec<f32> {
    configs
        .iter()
        .map(|c| ((c.energy - scale.per_atom * c.positions.len() as f64) / scale.scale) as f32)
        .collect()
}

/// The normalised force targets `F*/scale` of `configs`, flattened `[A·3]` (the network's
/// output is `y = (E − n·per_atom)/scale`, so its force is `−∂y/∂R` in those units).
fn force_targets(scale: &EnergyScale, configs: &[&Configuration]) -> Vec<f32> {
    configs
        .iter()
        .flat_map(|c| {
            c.forces
                .iter()
                .flat_map(|f| f.map(|v| (v / scale.scale) as f32))
        })
        .collect()
}

/// The loss `w_E·mean((y − y*)²) + w_F·mean((F − F*)²)` (normalised units, `F = −∂y/∂R`)
/// whose parameter gradient needs no double backward.
///
/// For fixed residuals `v = F − F*` (host values), `∂/∂θ mean(v²) = (2/n)·Σ v·∂F/∂θ =
/// −(2/n)·∂D/∂θ` with `D(θ) = Σ v·∇_R Y` the derivative of the batch's summed output `Y`
/// along `v`. With `u = v/rms(v)` and `h` = `force_step`,
/// `D ≈ rms(v)·(Y(R + h·u) − Y(R − h·u))/(2h)`, an O(h²) central difference whose parameter
/// gradient burn's first-order autodiff gives. One step costs one forward and backward for the
/// forces (positions) and one of three stacked copies of the batch (R, R ± h·u) for the
/// parameters. The returned tensor's value is the loss itself (the difference term enters as
/// `D − detach(D)`, zero); its gradient is the loss's to O(h²).
///
/// # Shapes
/// - returns: `[1]`
pub fn force_matching_loss(
    model: &SchNet,
    scale: &EnergyScale,
    configs: &[&Configuration],
    weights: LossWeights,
    device: &Device,
) -> Tensor<1> {
    let sizes: Vec<usize> = configs.iter().map(|c| c.positions.len()).collect();
    let graph = AtomsGraph::new(&sizes);
    let flat = flat_positions(configs);
    let (_, gradient) = model.output_and_gradient(&flat, &graph, device);
    let residual: Vec<f32> = gradient
        .iter()
        .zip(force_targets(scale, configs))
        .map(|(g, t)| -g - t)
        .collect();
    let n = residual.len() as f64;
    let force_mse = residual.iter().map(|r| f64::from(*r).powi(2)).sum::<f64>() / n;
    let rms = force_mse.sqrt();
    let h = weights.force_step;
    let m = configs.len();
    // Displacement h·v/rms(v); none when the forces are already exact (v = 0).
    let step = if rms > 0.0 { (h / rms) as f32 } else { 0.0 };
    let shifted = |sign: f32| -> Vec<f32> {
        flat.iter()
            .zip(&residual)
            .map(|(x, r)| x + sign * step * r)
            .collect()
    };
    let stacked: Vec<f32> = [flat.clone(), shifted(1.0), shifted(-1.0)].concat();
    let graph3 = AtomsGraph::new(&[sizes.clone(), sizes.clone(), sizes].concat());
    let out = model.forward(
        Tensor::<2>::from_data(TensorData::new(stacked, [3 * graph.n_atoms(), 3]), device),
        &graph3,
    ); // [3M]
    let targets =
        Tensor::<1>::from_data(TensorData::new(energy_targets(scale, configs), [m]), device);
    let energy = (out.clone().narrow(0, 0, m) - targets)
        .powf_scalar(2.0)
        .mean();
    let difference = out.clone().narrow(0, m, m).sum() - out.narrow(0, 2 * m, m).sum();
    let directional = difference.clone() - difference.detach();
    // −(2/n)·∂D/∂θ with D = rms·difference/(2h).
    let force_gradient = directional.mul_scalar(-(2.0 / n) * rms / (2.0 * h));
    energy.mul_scalar(weights.energy)
        + force_gradient.mul_scalar(weights.force)
        + Tensor::<1>::from_data(
            TensorData::new(vec![(weights.force * force_mse) as f32], [1]),
            device,
        )
}

/// The loss's weights and the central difference's step ([`force_matching_loss`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossWeights {
    /// Weight of the normalised energy MSE.
    pub energy: f64,
    /// Weight of the normalised force MSE.
    pub force: f64,
    /// RMS displacement per coordinate of the central difference (Å).
    pub force_step: f64,
}

impl LossWeights {
    /// The weights of `config`.
    pub fn of(config: &SchNetTrainConfig) -> Self {
        Self {
            energy: config.energy_weight,
            force: config.force_weight,
            force_step: config.force_step,
        }
    }
}

/// The same loss's value on host, from one forward and backward (validation).
fn loss_value(
    model: &SchNet,
    scale: &EnergyScale,
    configs: &[&Configuration],
    weights: LossWeights,
    device: &Device,
) -> f64 {
    let sizes: Vec<usize> = configs.iter().map(|c| c.positions.len()).collect();
    let graph = AtomsGraph::new(&sizes);
    let (y, gradient) = model.output_and_gradient(&flat_positions(configs), &graph, device);
    let energy = y
        .iter()
        .zip(energy_targets(scale, configs))
        .map(|(y, t)| f64::from(y - t).powi(2))
        .sum::<f64>()
        / configs.len() as f64;
    let force = gradient
        .iter()
        .zip(force_targets(scale, configs))
        .map(|(g, t)| f64::from(-g - t).powi(2))
        .sum::<f64>()
        / gradient.len().max(1) as f64;
    weights.energy * energy + weights.force * force
}

/// Trains with Adam through the shared fit loop (epochs of a seeded shuffle): on energies
/// alone when `force_weight` is 0 (the loss `mean((y − y*)²)`), else on
/// [`force_matching_loss`]; with `checkpoint`, saves itself there every `validate_every` steps and resumes from a
/// checkpoint of the same plan; `progress(step, loss)` after every step.
pub fn train_schnet(
    config: &SchNetTrainConfig,
    train: &[Configuration],
    valid: &[Configuration],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedSchNet, TrainError> {
    if train.is_empty() || valid.is_empty() {
        return Err(TrainError::Data(
            "schnet-si needs training and validation configurations".into(),
        ));
    }
    let scale = EnergyScale::fit(train);
    let network = config.network();
    let model = seeded_init(device, config.seed, || network.init(device));
    let valid_refs: Vec<&Configuration> = valid.iter().take(512).collect();
    let inference = device.clone().inner();
    let plan = FitPlan {
        steps: config.steps,
        validation: Validation::Every {
            steps: config.validate_every,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::Last,
        checkpoint: Checkpointing::in_dir(checkpoint, config.validate_every),
    };
    let batch_size = config.batch_size.min(train.len());
    let weights = LossWeights::of(config);
    let with_forces = config.force_weight > 0.0;
    // Data-parallel (docs/cluster.md): every rank draws the whole global batch from the shared
    // order and trains on its block of it; the fit averages the blocks' gradients, so each
    // block's loss is weighted as its share of the batch's mean.
    let world = crate::distributed::world();
    let part = crate::distributed::share(batch_size, world.rank(), world.size())
        .map_err(TrainError::Data)?;
    let fitted = crate::fit(
        &plan,
        model,
        EpochOrder::new(
            train.len(),
            ChaCha8Rng::seed_from_u64(config.seed ^ 0x5C4E_7000),
        ),
        |step| config.learning_rate(step),
        |model, _, order: &mut EpochOrder| {
            let picked = order.next_batch(batch_size);
            let block = &picked[part.clone()];
            let batch: Vec<&Configuration> = block.iter().map(|&i| &train[i]).collect();
            if with_forces {
                // The force term is a mean over atoms, and blocks of clusters of different
                // sizes hold different atom counts: weighted by its block's share of the
                // batch's atoms (times the ranks, whose mean the fit takes), the ranks' terms
                // average to the whole batch's mean. Alone, the factor is exactly 1.
                let atoms = |ids: &[usize]| -> usize {
                    ids.iter().map(|&i| train[i].positions.len()).sum()
                };
                let share = (atoms(block) * world.size()) as f64 / atoms(&picked) as f64;
                let weights = LossWeights {
                    force: weights.force * share,
                    ..weights
                };
                force_matching_loss(model, &scale, &batch, weights, device)
            } else {
                batch_loss(model, &scale, &batch, device).mul_scalar(weights.energy)
            }
        },
        |model| {
            if with_forces {
                let total: f64 = valid_refs
                    .chunks(128)
                    .map(|c| loss_value(model, &scale, c, weights, device) * c.len() as f64)
                    .sum();
                return total / valid_refs.len() as f64;
            }
            let m = model.valid();
            let chunks: Vec<f32> = valid_refs
                .chunks(128)
                .map(|c| {
                    batch_loss(&m, &scale, c, &inference).into_scalar::<f32>() * c.len() as f32
                })
                .collect();
            f64::from(chunks.iter().sum::<f32>() / valid_refs.len() as f32)
        },
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedSchNet {
        model: fitted.model,
        scale,
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
        seconds: fitted.seconds,
    })
}

impl TrainedSchNet {
    /// Energies and forces (−∂E/∂R by autodiff) of `configs`, in batches of 64.
    pub fn predict(&self, configs: &[Configuration], device: &Device) -> Vec<EnergyForces> {
        let mut out = Vec::with_capacity(configs.len());
        for chunk in configs.chunks(64) {
            let refs: Vec<&Configuration> = chunk.iter().collect();
            let sizes: Vec<usize> = chunk.iter().map(|c| c.positions.len()).collect();
            let graph = AtomsGraph::new(&sizes);
            let (y, grad) = self
                .model
                .output_and_gradient(&flat_positions(&refs), &graph, device);
            let mut atom = 0;
            for (c, y) in chunk.iter().zip(y) {
                let n = c.positions.len();
                let forces = (0..n)
                    .map(|i| {
                        [0, 1, 2].map(|d| -self.scale.scale * f64::from(grad[(atom + i) * 3 + d]))
                    })
                    .collect();
                atom += n;
                out.push(EnergyForces {
                    energy: self.scale.per_atom * n as f64 + self.scale.scale * f64::from(y),
                    forces,
                });
            }
        }
        out
    }

    /// Energy and forces of one configuration's positions (for NVE).
    pub fn energy_forces(&self, positions: &[[f64; 3]], device: &Device) -> EnergyForces {
        let config = Configuration {
            positions: positions.to_vec(),
            energy: 0.0,
            forces: vec![],
        };
        self.predict(std::slice::from_ref(&config), device)
            .remove(0)
    }
}

/// The least-squares pair potential `E = n·c₀ + Σ_{i<j} Σ_k c_k g_k(r_ij) f_c(r_ij)` on SchNet's
/// Gaussian basis and cosine cutoff, solved exactly (normal equations, tiny ridge).
#[derive(Debug, Clone, PartialEq)]
pub struct PairPotential {
    /// `[c₀, c₁, …, c_K]`.
    pub coefficients: Vec<f64>,
    centres: Vec<f64>,
    width: f64,
    cutoff: f64,
}

impl PairPotential {
    fn basis(&self, r: f64) -> (Vec<f64>, Vec<f64>) {
        if r >= self.cutoff {
            return (vec![0.0; self.centres.len()], vec![0.0; self.centres.len()]);
        }
        let arg = std::f64::consts::PI * r / self.cutoff;
        let fc = 0.5 * (arg.cos() + 1.0);
        let dfc = -0.5 * arg.sin() * std::f64::consts::PI / self.cutoff;
        self.centres
            .iter()
            .map(|mu| {
                let z = (r - mu) / self.width;
                let g = (-0.5 * z * z).exp();
                let dg = -g * z / self.width;
                (g * fc, dg * fc + g * dfc)
            })
            .unzip()
    }

    fn features(&self, positions: &[[f64; 3]]) -> Vec<f64> {
        let mut f = vec![0.0; self.centres.len() + 1];
        f[0] = positions.len() as f64;
        for i in 0..positions.len() {
            for j in i + 1..positions.len() {
                let r = distance(positions[i], positions[j]);
                for (k, b) in self.basis(r).0.into_iter().enumerate() {
                    f[k + 1] += b;
                }
            }
        }
        f
    }

    /// Fits on `train` with `n_rbf` Gaussians on [0, cutoff].
    pub fn fit(train: &[Configuration], n_rbf: usize, cutoff: f64) -> Self {
        let width = cutoff / (n_rbf - 1).max(1) as f64;
        let mut pot = Self {
            coefficients: vec![],
            centres: (0..n_rbf).map(|k| k as f64 * width).collect(),
            width,
            cutoff,
        };
        let m = n_rbf + 1;
        let mut ata = vec![vec![0.0; m]; m];
        let mut atb = vec![0.0; m];
        for c in train {
            let f = pot.features(&c.positions);
            for a in 0..m {
                atb[a] += f[a] * c.energy;
                for b in 0..m {
                    ata[a][b] += f[a] * f[b];
                }
            }
        }
        let trace: f64 = (0..m).map(|a| ata[a][a]).sum();
        for (a, row) in ata.iter_mut().enumerate() {
            row[a] += 1e-10 * trace / m as f64;
        }
        pot.coefficients = solve(ata, atb);
        pot
    }

    /// Energy and forces of `positions`.
    pub fn energy_forces(&self, positions: &[[f64; 3]]) -> EnergyForces {
        let n = positions.len();
        let mut energy = self.coefficients[0] * n as f64;
        let mut forces = vec![[0.0; 3]; n];
        for i in 0..n {
            for j in i + 1..n {
                let r = distance(positions[i], positions[j]);
                let (b, db) = self.basis(r);
                let c = &self.coefficients[1..];
                energy += b.iter().zip(c).map(|(b, c)| b * c).sum::<f64>();
                let de = db.iter().zip(c).map(|(d, c)| d * c).sum::<f64>();
                for a in 0..3 {
                    let f = -de * (positions[i][a] - positions[j][a]) / r;
                    forces[i][a] += f;
                    forces[j][a] -= f;
                }
            }
        }
        EnergyForces { energy, forces }
    }
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Gaussian elimination with partial pivoting on a small dense system.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .expect("non-empty");
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            for k in col..n {
                a[row][k] -= factor * a[col][k];
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}
