//! One-step training of n-body dynamics models: the Interaction Network and the MLP baseline
//! over the concatenated fixed-N state (`../shared/cases.md` [1] (d)).
//!
//! Inputs are the state at frame t, the target is Δv = v_{t+1} − v_t; inputs and target are
//! standardised per column with statistics of the training trajectories. Every step's batch is
//! drawn from an RNG seeded by (seed, step), so a run is a function of its seed.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_eval::nbody::DeltaV;
use learnsim_models::{InteractionNetwork, InteractionNetworkConfig, Mlp, MlpConfig};
use learnsim_sim::nbody::{Bodies, NBodyTrajectory};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{LossPoint, TrainError};

/// Data, model sizes and training recipe of the `nbody-2d` case (`configs/nbody-2d.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NBodyTrainConfig {
    /// Seed of the data, initialisation and batches.
    pub seed: u64,
    /// Smallest and largest body count of the training and test sets.
    pub n_bodies: [usize; 2],
    /// Body count of the generalisation set.
    pub n_generalisation: usize,
    /// Trajectories per split: train, valid, test, generalisation.
    pub trajectories: [usize; 4],
    /// Stored frames per trajectory.
    pub frames: usize,
    /// Optimiser steps (for each model).
    pub steps: usize,
    /// Transitions per batch.
    pub batch_size: usize,
    /// Learning rate at step 0.
    pub lr_initial: f64,
    /// Learning rate approached at the end.
    pub lr_final: f64,
    /// lr = (lr_initial − lr_final)·0.1^(step / lr_decay_steps) + lr_final.
    pub lr_decay_steps: f64,
    /// f_R hidden width and layers, effect width.
    pub relation_hidden: usize,
    /// f_R hidden layers.
    pub relation_layers: usize,
    /// Effect width.
    pub effect: usize,
    /// f_O hidden width.
    pub object_hidden: usize,
    /// MLP baseline hidden width.
    pub mlp_hidden: usize,
    /// MLP baseline hidden layers.
    pub mlp_layers: usize,
    /// Validation loss every this many steps.
    pub validate_every: usize,
    /// Rollout length of the position bar.
    pub rollout_steps: usize,
}

impl NBodyTrainConfig {
    /// The learning rate at `step`.
    pub fn learning_rate(&self, step: usize) -> f64 {
        (self.lr_initial - self.lr_final) * 0.1f64.powf(step as f64 / self.lr_decay_steps)
            + self.lr_final
    }
}

/// Per-column mean and standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (at least 1e-12).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Statistics of `rows` (each `width` long).
    pub fn fit(rows: impl Iterator<Item = Vec<f64>>, width: usize) -> Self {
        let (mut sum, mut sum2, mut count) = (vec![0.0; width], vec![0.0; width], 0usize);
        for row in rows {
            for (k, v) in row.iter().enumerate() {
                sum[k] += v;
                sum2[k] += v * v;
            }
            count += 1;
        }
        let count = count.max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let std = sum2
            .iter()
            .zip(&mean)
            .map(|(s2, m)| (s2 / count - m * m).max(0.0).sqrt().max(1e-12))
            .collect();
        Self { mean, std }
    }

    fn apply(&self, row: &[f64], out: &mut Vec<f32>) {
        for (k, v) in row.iter().enumerate() {
            out.push(((v - self.mean[k]) / self.std[k]) as f32);
        }
    }

    fn invert(&self, k: usize, v: f32) -> f64 {
        f64::from(v) * self.std[k] + self.mean[k]
    }
}

/// Object features [m, vx, vy].
fn object_row(b: &Bodies, i: usize) -> Vec<f64> {
    vec![b.mass[i], b.velocity[i][0], b.velocity[i][1]]
}

/// Relation attributes [Δx, Δy, |Δ|] of every ordered pair (receiver r, sender s ≠ r),
/// Δ = x_s − x_r, in receiver-major order.
fn relations(b: &Bodies) -> impl Iterator<Item = (usize, usize, Vec<f64>)> + '_ {
    let n = b.len();
    (0..n).flat_map(move |r| {
        (0..n).filter(move |&s| s != r).map(move |s| {
            let d = [
                b.position[s][0] - b.position[r][0],
                b.position[s][1] - b.position[r][1],
            ];
            (r, s, vec![d[0], d[1], d[0].hypot(d[1])])
        })
    })
}

/// Every (state, Δv) transition of a trajectory set, for statistics.
fn transitions(data: &[NBodyTrajectory]) -> impl Iterator<Item = (Bodies, Vec<[f64; 2]>)> + '_ {
    data.iter()
        .flat_map(|traj| (0..traj.n_frames() - 1).map(move |t| (traj.bodies(t), delta_v(traj, t))))
}

fn delta_v(traj: &NBodyTrajectory, t: usize) -> Vec<[f64; 2]> {
    traj.velocity[t + 1]
        .iter()
        .zip(&traj.velocity[t])
        .map(|(a, b)| [a[0] - b[0], a[1] - b[1]])
        .collect()
}

/// Normalisation of the Interaction Network's inputs and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InNormalization {
    /// Object features [m, vx, vy].
    pub object: Standardizer,
    /// Relation attributes [Δx, Δy, |Δ|].
    pub relation: Standardizer,
    /// Target Δv.
    pub target: Standardizer,
}

impl InNormalization {
    /// Statistics of the training trajectories.
    pub fn fit(train: &[NBodyTrajectory]) -> Self {
        let object = Standardizer::fit(
            transitions(train).flat_map(|(b, _)| (0..b.len()).map(move |i| object_row(&b, i))),
            3,
        );
        let relation = Standardizer::fit(
            transitions(train).flat_map(|(b, _)| relations(&b).map(|r| r.2).collect::<Vec<_>>()),
            3,
        );
        let target = Standardizer::fit(
            transitions(train).flat_map(|(_, dv)| dv.into_iter().map(|d| d.to_vec())),
            2,
        );
        Self {
            object,
            relation,
            target,
        }
    }
}

/// A batch of systems as one graph.
struct GraphBatch {
    objects: Tensor<2>,
    relations: Tensor<2>,
    senders: Tensor<1, Int>,
    receivers: Tensor<1, Int>,
    sizes: Vec<usize>,
}

fn graph_batch(systems: &[&Bodies], norm: &InNormalization, device: &Device) -> GraphBatch {
    let (mut objects, mut attrs, mut senders, mut receivers) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut offset = 0i64;
    for b in systems {
        for i in 0..b.len() {
            norm.object.apply(&object_row(b, i), &mut objects);
        }
        for (r, s, a) in relations(b) {
            norm.relation.apply(&a, &mut attrs);
            receivers.push(offset + r as i64);
            senders.push(offset + s as i64);
        }
        offset += b.len() as i64;
    }
    let (n, e) = (offset as usize, senders.len());
    GraphBatch {
        objects: Tensor::from_data(TensorData::new(objects, [n, 3]), device),
        relations: Tensor::from_data(TensorData::new(attrs, [e, 3]), device),
        senders: Tensor::from_data(TensorData::new(senders, [e]), device),
        receivers: Tensor::from_data(TensorData::new(receivers, [e]), device),
        sizes: systems.iter().map(|b| b.len()).collect(),
    }
}

fn target_tensor(dvs: &[&[[f64; 2]]], norm: &Standardizer, device: &Device) -> Tensor<2> {
    let mut out = Vec::new();
    for dv in dvs {
        for d in *dv {
            norm.apply(d, &mut out);
        }
    }
    let rows = out.len() / 2;
    Tensor::from_data(TensorData::new(out, [rows, 2]), device)
}

/// Splits a `[Σ N, 2]` normalised prediction back into per-system Δv.
fn unbatch(prediction: Tensor<2>, sizes: &[usize], norm: &Standardizer) -> Vec<Vec<[f64; 2]>> {
    let flat: Vec<f32> = prediction
        .into_data()
        .try_to_vec::<f32>()
        .expect("prediction is f32");
    let mut rows = flat.chunks_exact(2);
    sizes
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    let r = rows.next().expect("one row per body");
                    [norm.invert(0, r[0]), norm.invert(1, r[1])]
                })
                .collect()
        })
        .collect()
}

/// A trained Interaction Network with its normalisation.
#[derive(Debug, Clone)]
pub struct InDynamics {
    /// The network (inference copy).
    pub network: InteractionNetwork,
    /// Input and target statistics.
    pub norm: InNormalization,
    device: Device,
}

impl DeltaV for InDynamics {
    fn delta_v(&self, systems: &[&Bodies]) -> Vec<Vec<[f64; 2]>> {
        let batch = graph_batch(systems, &self.norm, &self.device);
        let out = self.network.forward(
            batch.objects,
            batch.relations,
            batch.senders,
            batch.receivers,
        );
        unbatch(out, &batch.sizes, &self.norm.target)
    }
}

/// The MLP baseline on one fixed body count: [m, x, y, vx, vy] of every body → every Δv.
#[derive(Debug, Clone)]
pub struct MlpDynamics {
    /// The network (inference copy).
    pub network: Mlp,
    /// Bodies it was trained on.
    pub n_bodies: usize,
    input: Standardizer,
    target: Standardizer,
    device: Device,
}

fn mlp_row(b: &Bodies) -> Vec<f64> {
    (0..b.len())
        .flat_map(|i| {
            [
                b.mass[i],
                b.position[i][0],
                b.position[i][1],
                b.velocity[i][0],
                b.velocity[i][1],
            ]
        })
        .collect()
}

impl MlpDynamics {
    fn forward(&self, network: &Mlp, systems: &[&Bodies], device: &Device) -> Tensor<2> {
        let mut input = Vec::new();
        for b in systems {
            assert_eq!(b.len(), self.n_bodies, "the MLP baseline has a fixed N");
            self.input.apply(&mlp_row(b), &mut input);
        }
        let width = 5 * self.n_bodies;
        network.forward(Tensor::from_data(
            TensorData::new(input, [systems.len(), width]),
            device,
        ))
    }
}

impl DeltaV for MlpDynamics {
    fn delta_v(&self, systems: &[&Bodies]) -> Vec<Vec<[f64; 2]>> {
        let out = self.forward(&self.network, systems, &self.device);
        let flat: Vec<f32> = out.into_data().try_to_vec::<f32>().expect("f32");
        flat.chunks_exact(2 * self.n_bodies)
            .map(|row| {
                row.chunks_exact(2)
                    .enumerate()
                    .map(|(i, d)| {
                        [
                            self.target.invert(2 * i, d[0]),
                            self.target.invert(2 * i + 1, d[1]),
                        ]
                    })
                    .collect()
            })
            .collect()
    }
}

/// What training produced: the model and its loss curves.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The trained model.
    pub model: M,
    /// Training loss per step (normalised Δv MSE).
    pub train_loss: Vec<LossPoint>,
    /// Validation loss (fixed transitions) every `validate_every` steps and at the end.
    pub valid_loss: Vec<LossPoint>,
}

/// Transitions (trajectory, frame) drawn uniformly.
fn draw(data: &[NBodyTrajectory], count: usize, rng: &mut impl Rng) -> Vec<(usize, usize)> {
    (0..count)
        .map(|_| {
            let k = rng.random_range(0..data.len());
            (k, rng.random_range(0..data[k].n_frames() - 1))
        })
        .collect()
}

fn check(data: &[NBodyTrajectory], what: &str) -> Result<(), TrainError> {
    if data.is_empty() || data.iter().any(|t| t.n_frames() < 2) {
        return Err(TrainError::Data(format!(
            "the {what} set needs trajectories of at least 2 frames"
        )));
    }
    Ok(())
}

/// The shared loop: Adam with exponential decay on `loss(model, transitions)`, validation on a
/// fixed draw from `valid`.
fn fit<M: Module>(
    config: &NBodyTrainConfig,
    mut model: M,
    train: &[NBodyTrajectory],
    valid: &[NBodyTrajectory],
    loss: impl Fn(&M, &[NBodyTrajectory], &[(usize, usize)]) -> Tensor<1>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<Fitted<M>, TrainError> {
    let mut optimizer = AdamConfig::new().init();
    let mut valid_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x05EE_D0F7_A11D);
    let valid_draw = draw(valid, 1000, &mut valid_rng);
    let validate = |model: &M| -> f32 { loss(&model.valid(), valid, &valid_draw).into_scalar() };
    let mut fitted_train = Vec::with_capacity(config.steps);
    let mut fitted_valid = vec![LossPoint {
        step: 0,
        loss: validate(&model),
    }];
    for step in 0..config.steps {
        let mut rng =
            ChaCha8Rng::seed_from_u64(config.seed.wrapping_mul(0x9E37_79B9) ^ step as u64);
        let batch = draw(train, config.batch_size, &mut rng);
        let value = loss(&model, train, &batch);
        let scalar: f32 = value.clone().into_scalar();
        if !scalar.is_finite() {
            return Err(TrainError::Diverged { step, loss: scalar });
        }
        let grads = GradientsParams::from_grads(value.backward(), &model);
        model = optimizer.step(config.learning_rate(step), model, grads);
        fitted_train.push(LossPoint { step, loss: scalar });
        progress(step + 1, scalar);
        if (step + 1) % config.validate_every.max(1) == 0 || step + 1 == config.steps {
            fitted_valid.push(LossPoint {
                step: step + 1,
                loss: validate(&model),
            });
        }
    }
    Ok(Fitted {
        model,
        train_loss: fitted_train,
        valid_loss: fitted_valid,
    })
}

/// burn draws initial weights from the device's RNG: seed it, under a lock so that models built
/// concurrently cannot interleave, and force every lazy parameter now.
fn seeded_init<M: Module>(device: &Device, seed: u64, init: impl Fn() -> M) -> M {
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    device.seed(seed);
    let record = init().into_record();
    init().load_record(record)
}

/// Trains the Interaction Network on `train` (any mix of body counts).
pub fn train_interaction_network(
    config: &NBodyTrainConfig,
    train: &[NBodyTrajectory],
    valid: &[NBodyTrajectory],
    device: &Device,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<Fitted<InDynamics>, TrainError> {
    check(train, "training")?;
    check(valid, "validation")?;
    let norm = InNormalization::fit(train);
    let net_config = InteractionNetworkConfig::new(3, 3, 2)
        .with_relation_hidden(config.relation_hidden)
        .with_relation_layers(config.relation_layers)
        .with_effect(config.effect)
        .with_object_hidden(config.object_hidden);
    let network = seeded_init(device, config.seed, || net_config.init(device));
    let loss = |net: &InteractionNetwork, data: &[NBodyTrajectory], pick: &[(usize, usize)]| {
        let states: Vec<Bodies> = pick.iter().map(|&(k, t)| data[k].bodies(t)).collect();
        let dvs: Vec<Vec<[f64; 2]>> = pick.iter().map(|&(k, t)| delta_v(&data[k], t)).collect();
        let refs: Vec<&Bodies> = states.iter().collect();
        let dv_refs: Vec<&[[f64; 2]]> = dvs.iter().map(Vec::as_slice).collect();
        let batch = graph_batch(&refs, &norm, device);
        let target = target_tensor(&dv_refs, &norm.target, device);
        let out = net.forward(
            batch.objects,
            batch.relations,
            batch.senders,
            batch.receivers,
        );
        (out - target).powf_scalar(2.0).mean()
    };
    let fitted = fit(config, network, train, valid, loss, progress)?;
    Ok(Fitted {
        model: InDynamics {
            network: fitted.model.valid(),
            norm,
            device: device.clone(),
        },
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
    })
}

/// Trains the MLP baseline on the trajectories of `train` with exactly `n_bodies` bodies.
pub fn train_mlp_baseline(
    config: &NBodyTrainConfig,
    n_bodies: usize,
    train: &[NBodyTrajectory],
    valid: &[NBodyTrajectory],
    device: &Device,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<Fitted<MlpDynamics>, TrainError> {
    let pick_n = |data: &[NBodyTrajectory]| -> Vec<NBodyTrajectory> {
        data.iter()
            .filter(|t| t.n_bodies() == n_bodies)
            .cloned()
            .collect()
    };
    let (train, valid) = (pick_n(train), pick_n(valid));
    check(&train, &format!("{n_bodies}-body training"))?;
    check(&valid, &format!("{n_bodies}-body validation"))?;
    let input = Standardizer::fit(transitions(&train).map(|(b, _)| mlp_row(&b)), 5 * n_bodies);
    let target = Standardizer::fit(
        transitions(&train).map(|(_, dv)| dv.iter().flatten().copied().collect()),
        2 * n_bodies,
    );
    let net_config = MlpConfig::new(
        5 * n_bodies,
        config.mlp_hidden,
        config.mlp_layers,
        2 * n_bodies,
        false,
    );
    let network = seeded_init(device, config.seed ^ 1, || net_config.init(device));
    let shell = MlpDynamics {
        network: network.clone(),
        n_bodies,
        input,
        target,
        device: device.clone(),
    };
    let loss = |net: &Mlp, data: &[NBodyTrajectory], pick: &[(usize, usize)]| {
        let states: Vec<Bodies> = pick.iter().map(|&(k, t)| data[k].bodies(t)).collect();
        let refs: Vec<&Bodies> = states.iter().collect();
        let out = shell.forward(net, &refs, device);
        let mut target = Vec::new();
        for &(k, t) in pick {
            let dv: Vec<f64> = delta_v(&data[k], t).iter().flatten().copied().collect();
            shell.target.apply(&dv, &mut target);
        }
        let target = Tensor::from_data(TensorData::new(target, [pick.len(), 2 * n_bodies]), device);
        (out - target).powf_scalar(2.0).mean()
    };
    let fitted = fit(config, network, &train, &valid, loss, progress)?;
    Ok(Fitted {
        model: MlpDynamics {
            network: fitted.model.valid(),
            ..shell
        },
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
    })
}
