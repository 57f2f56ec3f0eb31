//! SchNet on Stillinger–Weber silicon clusters: energy-only training (burn has no double
//! backward, so the force loss cannot be differentiated), predictions with forces by autodiff,
//! the least-squares pair-potential baseline and NVE runs driven by any force field.

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
    /// Validation loss every this many steps.
    pub validate_every: usize,
    /// NVE steps of the energy-conservation bar.
    pub nve_steps: usize,
    /// NVE time step (fs).
    pub nve_dt: f64,
    /// Temperature of the NVE run's initial velocities (K).
    pub nve_temperature: f64,
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
    /// Training loss per step (normalised energy MSE).
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
    let targets: Vec<f32> = configs
        .iter()
        .map(|c| ((c.energy - scale.per_atom * c.positions.len() as f64) / scale.scale) as f32)
        .collect();
    let targets = Tensor::<1>::from_data(TensorData::new(targets, [configs.len()]), device);
    (model.forward(positions, &graph) - targets)
        .powf_scalar(2.0)
        .mean()
}

/// Trains on energies with Adam through the shared fit loop (epochs of a seeded shuffle);
/// with `checkpoint`, saves itself there every `validate_every` steps and resumes from a
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
    let fitted = crate::fit(
        &plan,
        model,
        EpochOrder::new(
            train.len(),
            ChaCha8Rng::seed_from_u64(config.seed ^ 0x5C4E_7000),
        ),
        |step| config.learning_rate(step),
        |model, _, order: &mut EpochOrder| {
            let batch: Vec<&Configuration> = order
                .next_batch(batch_size)
                .into_iter()
                .map(|i| &train[i])
                .collect();
            batch_loss(model, &scale, &batch, device)
        },
        |model| {
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
