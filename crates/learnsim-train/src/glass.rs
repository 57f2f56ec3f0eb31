//! Glassy dynamics from static structure (Bapst et al. 2020): a graph network on the radius
//! graph of a Kob–Andersen configuration predicts each particle's propensity.
//!
//! The network is the GNS encode–process–decode [`Gns`] (node input: one-hot species; edge
//! input: the minimum-image displacement x_s − x_r and its length; output: one number per
//! particle). The loss is the MSE of the normalised propensity of the A particles, as in the
//! reference. Each step draws one of the cube's 48 axis permutations × reflections and
//! applies it to the displacements (the augmentation of the reference). Also here: the linear
//! baseline on per-particle potential energy and neighbour count.

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, EpochOrder, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_core::{CellList, Domain, SelfEdges};
use learnsim_models::{Gns, GnsConfig};
use learnsim_sim::glass::{GlassRecipe, PropensitySample};
pub use learnsim_sim::kob_andersen::CubeSymmetry;
use learnsim_sim::kob_andersen::{SPECIES_A, cube_symmetries, random_cube_symmetry};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `glass-ka` case's configuration (`configs/glass-ka.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlassTrainConfig {
    /// Seed of the simulations, the initialisation, the batches and the augmentation.
    pub seed: u64,
    /// How each configuration is simulated (the `[md]` table).
    pub md: GlassRecipe,
    /// Training configurations.
    pub train_configurations: usize,
    /// Test configurations.
    pub test_configurations: usize,
    /// Radius of the graph (σ_AA units).
    pub radius: f64,
    /// Latent width.
    pub latent: usize,
    /// Hidden layers per MLP.
    pub n_hidden: usize,
    /// Message-passing steps.
    pub message_passing_steps: usize,
    /// Passes over the training configurations.
    pub epochs: usize,
    /// Configurations per batch.
    pub batch_size: usize,
    /// Learning rate at step 0.
    pub lr_initial: f64,
    /// Learning rate approached at the end.
    pub lr_final: f64,
    /// lr = (lr_initial − lr_final)·0.1^(step / lr_decay_steps) + lr_final.
    pub lr_decay_steps: f64,
    /// Test loss (monitoring only, never used for selection) every this many steps.
    pub validate_every: usize,
    /// Random axis permutations and reflections during training.
    pub augment: bool,
    /// Learn and score each particle's propensity relative to the mean of the A particles of
    /// its own configuration. In a box of a few hundred particles the whole configuration's
    /// mobility fluctuates from one configuration to the next (a finite-size, collective
    /// effect no local structure predicts), which would otherwise enter the target.
    pub relative_to_configuration: bool,
    /// Average the prediction over the 48 cube symmetries (exactly invariant under them).
    pub symmetrize: bool,
    /// Gaussians expanding the edge length on [`DISTANCE_BASIS_START`, radius] (SchNet's
    /// radial basis; 0: the raw length). The first coordination shells sit within a few
    /// tenths of σ of each other, and a basis lets the first layer resolve them linearly.
    pub distance_basis: usize,
}

/// Centre of the first Gaussian of the distance basis: no pair comes closer than ~0.7σ.
pub const DISTANCE_BASIS_START: f64 = 0.6;

impl GlassTrainConfig {
    /// Edge input width: the displacement (3) and the length or its basis expansion.
    pub fn edge_width(&self) -> usize {
        3 + self.distance_basis.max(1)
    }

    /// The edge-length features: the length, or Gaussians exp(−(r − μ_k)²/(2w²)) with centres
    /// spaced w apart from [`DISTANCE_BASIS_START`] to the radius.
    fn length_features(&self, r: f64, out: &mut Vec<f32>) {
        let k = self.distance_basis;
        if k == 0 {
            out.push(r as f32);
            return;
        }
        let width = (self.radius - DISTANCE_BASIS_START) / (k.max(2) - 1) as f64;
        out.extend((0..k).map(|i| {
            let mu = DISTANCE_BASIS_START + i as f64 * width;
            (-(r - mu).powi(2) / (2.0 * width * width)).exp() as f32
        }));
    }
}

impl GlassTrainConfig {
    /// The learning rate at `step`.
    pub fn learning_rate(&self, step: usize) -> f64 {
        crate::config::exponential_decay(self.lr_initial, self.lr_final, self.lr_decay_steps, step)
    }

    /// Optimiser steps of the whole run.
    pub fn steps(&self) -> usize {
        self.epochs * self.train_configurations.div_ceil(self.batch_size.max(1))
    }

    /// The target of every particle of `sample`: its propensity, minus the mean over the
    /// sample's A particles when `relative_to_configuration`.
    pub fn targets(&self, sample: &PropensitySample) -> Vec<f64> {
        if !self.relative_to_configuration {
            return sample.propensity.clone();
        }
        let a: Vec<f64> = of_a(&sample.propensity, &sample.species).collect();
        let mean = a.iter().sum::<f64>() / a.len().max(1) as f64;
        sample.propensity.iter().map(|p| p - mean).collect()
    }

    /// The network's sizes.
    pub fn network(&self) -> GnsConfig {
        GnsConfig::new(2, self.edge_width(), 1)
            .with_latent(self.latent)
            .with_n_hidden(self.n_hidden)
            .with_message_passing_steps(self.message_passing_steps)
    }
}

/// The identity of the cube's symmetry group.
pub const IDENTITY: CubeSymmetry = ([0, 1, 2], [1.0, 1.0, 1.0]);

/// The radius graph of one configuration: receivers-sorted edges and their minimum-image
/// displacements x_s − x_r.
#[derive(Debug, Clone)]
pub struct StructureGraph {
    /// Species per particle.
    pub species: Vec<u8>,
    /// Sender of each edge.
    pub senders: Vec<u32>,
    /// Receiver of each edge.
    pub receivers: Vec<u32>,
    /// x_s − x_r per edge.
    pub displacements: Vec<[f64; 3]>,
    /// The edge-length features (`GlassTrainConfig::edge_width` − 3 per edge), which no cube
    /// symmetry changes, so they are computed once per graph.
    pub length_features: Vec<f32>,
}

impl StructureGraph {
    /// The graph of `sample` at `config.radius` (periodic, no self-edges) with its edge-length
    /// features.
    pub fn new(sample: &PropensitySample, config: &GlassTrainConfig) -> Result<Self, TrainError> {
        let domain = Domain::new([0.0; 3], [sample.box_length; 3], [true; 3])
            .map_err(|e| TrainError::Data(format!("glass configuration: {e}")))?;
        let cells = CellList::new(domain, config.radius)
            .map_err(|e| TrainError::Data(format!("glass radius graph: {e}")))?;
        let edges = cells.edges(&sample.positions, SelfEdges::Exclude);
        let displacements: Vec<[f64; 3]> = edges
            .senders
            .iter()
            .zip(&edges.receivers)
            .map(|(&s, &r)| {
                domain.displacement(&sample.positions[s as usize], &sample.positions[r as usize])
            })
            .collect();
        let mut length_features =
            Vec::with_capacity(displacements.len() * (config.edge_width() - 3));
        for d in &displacements {
            config.length_features(
                (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt(),
                &mut length_features,
            );
        }
        Ok(Self {
            species: sample.species.clone(),
            senders: edges.senders,
            receivers: edges.receivers,
            displacements,
            length_features,
        })
    }

    /// Number of particles.
    pub fn n_nodes(&self) -> usize {
        self.species.len()
    }
}

/// Network inputs of several graphs concatenated, their displacements mapped by `symmetry`.
struct Batch {
    nodes: Vec<f32>,
    edges: Vec<f32>,
    senders: Vec<i64>,
    receivers: Vec<i64>,
    n_nodes: usize,
}

impl Batch {
    fn new(graphs: &[&StructureGraph], symmetry: CubeSymmetry) -> Self {
        let (perm, signs) = symmetry;
        let mut batch = Self {
            nodes: Vec::new(),
            edges: Vec::new(),
            senders: Vec::new(),
            receivers: Vec::new(),
            n_nodes: 0,
        };
        for g in graphs {
            let offset = batch.n_nodes as i64;
            for &s in &g.species {
                batch.nodes.extend(if s == SPECIES_A {
                    [1.0, 0.0]
                } else {
                    [0.0, 1.0]
                });
            }
            let per_edge = g.length_features.len() / g.displacements.len().max(1);
            for (d, lengths) in g
                .displacements
                .iter()
                .zip(g.length_features.chunks_exact(per_edge.max(1)))
            {
                batch
                    .edges
                    .extend((0..3).map(|a| (signs[a] * d[perm[a]]) as f32));
                batch.edges.extend_from_slice(lengths);
            }
            batch
                .senders
                .extend(g.senders.iter().map(|&s| i64::from(s) + offset));
            batch
                .receivers
                .extend(g.receivers.iter().map(|&r| i64::from(r) + offset));
            batch.n_nodes += g.n_nodes();
        }
        batch
    }

    /// # Shapes
    /// - returns: `[n_nodes]`
    fn forward(&self, model: &Gns, device: &Device) -> Tensor<1> {
        let n_edges = self.senders.len();
        let nodes = Tensor::<2>::from_data(
            TensorData::new(self.nodes.clone(), [self.n_nodes, 2]),
            device,
        );
        let width = self.edges.len() / n_edges.max(1);
        let edges = Tensor::<2>::from_data(
            TensorData::new(self.edges.clone(), [n_edges, width]),
            device,
        );
        let senders =
            Tensor::<1, Int>::from_data(TensorData::new(self.senders.clone(), [n_edges]), device);
        let receivers =
            Tensor::<1, Int>::from_data(TensorData::new(self.receivers.clone(), [n_edges]), device);
        model
            .forward(nodes, edges, senders, receivers)
            .reshape([self.n_nodes])
    }
}

/// Propensity normalisation over the A particles of the training set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PropensityScale {
    /// Mean propensity of A particles.
    pub mean: f64,
    /// Its standard deviation.
    pub std: f64,
}

impl PropensityScale {
    /// Fitted on the A particles' targets (`config.targets`) of `train`.
    pub fn fit(config: &GlassTrainConfig, train: &[PropensitySample]) -> Self {
        let values: Vec<f64> = train
            .iter()
            .flat_map(|s| of_a(&config.targets(s), &s.species).collect::<Vec<_>>())
            .collect();
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        let var =
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len().max(1) as f64;
        Self {
            mean,
            std: var.sqrt().max(1e-12),
        }
    }
}

/// The values of `field` at the A particles of every sample, in order.
pub fn a_values(
    samples: &[PropensitySample],
    field: impl Fn(&PropensitySample) -> &Vec<f64>,
) -> Vec<f64> {
    samples
        .iter()
        .flat_map(|s| of_a(field(s), &s.species))
        .collect()
}

/// The entries of `values` that belong to A particles, in order.
pub fn of_a<'a, T: Copy>(values: &'a [T], species: &'a [u8]) -> impl Iterator<Item = T> + 'a {
    values
        .iter()
        .zip(species)
        .filter(|(_, sp)| **sp == SPECIES_A)
        .map(|(v, _)| *v)
}

/// A trained propensity network.
#[derive(Debug, Clone)]
pub struct TrainedGlassNetwork {
    /// The network.
    pub model: Gns,
    /// Target normalisation.
    pub scale: PropensityScale,
    /// Training loss per step.
    pub train_loss: Vec<LossPoint>,
    /// Test loss at step 0 and every `validate_every` steps (monitoring only).
    pub test_loss: Vec<LossPoint>,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

/// A sample's normalised targets and its A-particle mask, built once.
struct Targets {
    values: Vec<f32>,
    mask: Vec<f32>,
}

impl Targets {
    fn new(sample: &PropensitySample, config: &GlassTrainConfig, scale: &PropensityScale) -> Self {
        Self {
            values: config
                .targets(sample)
                .iter()
                .map(|p| ((p - scale.mean) / scale.std) as f32)
                .collect(),
            mask: sample
                .species
                .iter()
                .map(|&sp| if sp == SPECIES_A { 1.0 } else { 0.0 })
                .collect(),
        }
    }
}

/// MSE over the A particles of the concatenated `targets`.
fn masked_loss(prediction: Tensor<1>, targets: &[&Targets], device: &Device) -> Tensor<1> {
    let values: Vec<f32> = targets
        .iter()
        .flat_map(|t| t.values.iter().copied())
        .collect();
    let mask: Vec<f32> = targets
        .iter()
        .flat_map(|t| t.mask.iter().copied())
        .collect();
    let count = mask.iter().sum::<f32>().max(1.0);
    let n = values.len();
    let values = Tensor::<1>::from_data(TensorData::new(values, [n]), device);
    let mask = Tensor::<1>::from_data(TensorData::new(mask, [n]), device);
    ((prediction - values).powf_scalar(2.0) * mask).sum() / count
}

/// Trains on `train` (graphs built from it at `config.radius`) through the shared fit loop
/// (epochs of a seeded shuffle, a random cube symmetry per batch); with `checkpoint`, saves
/// itself there every `validate_every` steps and resumes from a checkpoint of the same plan;
/// `progress(step, loss)` after every step. The test loss is recorded for the loss curve only.
pub fn train_glass_network(
    config: &GlassTrainConfig,
    train: &[PropensitySample],
    test: &[PropensitySample],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedGlassNetwork, TrainError> {
    if train.is_empty() || test.is_empty() {
        return Err(TrainError::Data(
            "glass-ka needs training and test configurations".into(),
        ));
    }
    let scale = PropensityScale::fit(config, train);
    let train_graphs = train
        .iter()
        .map(|s| StructureGraph::new(s, config))
        .collect::<Result<Vec<_>, _>>()?;
    let test_graphs = test
        .iter()
        .map(|s| StructureGraph::new(s, config))
        .collect::<Result<Vec<_>, _>>()?;
    let network = config.network();
    let model = seeded_init(device, config.seed, || network.init(device));
    let inference = device.clone().inner();
    let train_targets: Vec<Targets> = train
        .iter()
        .map(|s| Targets::new(s, config, &scale))
        .collect();
    let test_targets: Vec<Targets> = test
        .iter()
        .map(|s| Targets::new(s, config, &scale))
        .collect();
    let test_targets: Vec<&Targets> = test_targets.iter().collect();
    let evaluate = |model: &Gns| -> f32 {
        let m = model.valid();
        let graphs: Vec<&StructureGraph> = test_graphs.iter().collect();
        let prediction = Batch::new(&graphs, IDENTITY).forward(&m, &inference);
        masked_loss(prediction, &test_targets, &inference).into_scalar()
    };
    let steps = config.steps();
    let plan = FitPlan {
        steps,
        validation: Validation::Every {
            steps: config.validate_every,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::Last,
        checkpoint: Checkpointing::in_dir(checkpoint, config.validate_every),
    };
    let batch_size = config.batch_size.clamp(1, train.len());
    let fitted = crate::fit(
        &plan,
        model,
        EpochOrder::new(
            train.len(),
            ChaCha8Rng::seed_from_u64(config.seed ^ 0x61A5_5000),
        ),
        |step| config.learning_rate(step),
        |model, _, order: &mut EpochOrder| {
            let picked = order.next_batch(batch_size);
            let symmetry = if config.augment {
                random_cube_symmetry(&mut order.rng)
            } else {
                IDENTITY
            };
            let graphs: Vec<&StructureGraph> = picked.iter().map(|&i| &train_graphs[i]).collect();
            let targets: Vec<&Targets> = picked.iter().map(|&i| &train_targets[i]).collect();
            let prediction = Batch::new(&graphs, symmetry).forward(model, device);
            masked_loss(prediction, &targets, device)
        },
        |model| f64::from(evaluate(model)),
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedGlassNetwork {
        model: fitted.model,
        scale,
        train_loss: fitted.train_loss,
        test_loss: fitted.valid_loss,
        seconds: fitted.seconds,
    })
}

impl TrainedGlassNetwork {
    /// Predicted target (propensity, or relative propensity) of every particle of `sample`
    /// seen through `symmetry` (its positions mapped by the permutation and reflection before
    /// the graph is built). With `symmetrize`, the prediction is the mean over the 48 cube
    /// symmetries applied to the displacements (group averaging), which makes it invariant
    /// under that group by construction.
    pub fn predict(
        &self,
        sample: &PropensitySample,
        config: &GlassTrainConfig,
        symmetry: CubeSymmetry,
        symmetrize: bool,
        device: &Device,
    ) -> Result<Vec<f64>, TrainError> {
        let (perm, signs) = symmetry;
        let l = sample.box_length;
        let moved = PropensitySample {
            positions: sample
                .positions
                .iter()
                .map(|x| std::array::from_fn(|a| (signs[a] * x[perm[a]]).rem_euclid(l)))
                .collect(),
            ..sample.clone()
        };
        let graph = StructureGraph::new(&moved, config)?;
        let inference = device.clone().inner();
        let model = self.model.valid();
        let group = if symmetrize {
            cube_symmetries()
        } else {
            vec![IDENTITY]
        };
        let mut sum = vec![0.0f64; graph.n_nodes()];
        for g in &group {
            let prediction = Batch::new(&[&graph], *g).forward(&model, &inference);
            let values: Vec<f32> = prediction
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| TrainError::Data(format!("glass prediction: {e:?}")))?;
            for (s, y) in sum.iter_mut().zip(values) {
                *s += f64::from(y);
            }
        }
        Ok(sum
            .into_iter()
            .map(|y| self.scale.mean + self.scale.std * y / group.len() as f64)
            .collect())
    }
}

/// Least squares of propensity on [1, per-particle potential energy, neighbour count]
/// over the A particles (the reference's local-structure baseline).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearBaseline {
    /// Intercept, energy coefficient, neighbour-count coefficient.
    pub coefficients: [f64; 3],
}

fn features(sample: &PropensitySample, i: usize) -> [f64; 3] {
    [1.0, sample.potential_energy[i], sample.neighbours[i] as f64]
}

impl LinearBaseline {
    /// Fitted on the A particles' targets (`config.targets`) of `train` by the normal
    /// equations.
    pub fn fit(config: &GlassTrainConfig, train: &[PropensitySample]) -> Result<Self, TrainError> {
        let mut ata = [[0.0; 3]; 3];
        let mut atb = [0.0; 3];
        for s in train {
            let targets = config.targets(s);
            for i in (0..s.species.len()).filter(|&i| s.species[i] == SPECIES_A) {
                let x = features(s, i);
                for r in 0..3 {
                    atb[r] += x[r] * targets[i];
                    for c in 0..3 {
                        ata[r][c] += x[r] * x[c];
                    }
                }
            }
        }
        solve3(ata, atb)
            .map(|coefficients| Self { coefficients })
            .ok_or_else(|| {
                TrainError::Data(
                    "linear baseline: the energy and neighbour-count features are collinear".into(),
                )
            })
    }

    /// Predicted propensity of every particle of `sample`.
    pub fn predict(&self, sample: &PropensitySample) -> Vec<f64> {
        (0..sample.species.len())
            .map(|i| {
                features(sample, i)
                    .iter()
                    .zip(&self.coefficients)
                    .map(|(x, c)| x * c)
                    .sum()
            })
            .collect()
    }
}

/// Solves the 3×3 system `a x = b` by Gaussian elimination with partial pivoting.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    let scale = a.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..3 {
            let f = a[row][col] / a[col][col];
            for c in col..3 {
                a[row][c] -= f * a[col][c];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let rest: f64 = (row + 1..3).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}
