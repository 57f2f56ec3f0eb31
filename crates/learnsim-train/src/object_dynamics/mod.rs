//! One-step training of object-dynamics models — the Interaction Network and the MLP baseline
//! over the concatenated fixed-N state — on n-body systems (`../shared/cases.md` [1] (d)) and
//! mass–spring chains ([3] (d) A).
//!
//! Inputs are the state at frame t, the target is Δv = v_{t+1} − v_t; inputs and target are
//! standardised per column with statistics of the training trajectories. Every step's batch is
//! drawn from an RNG seeded by (seed, step), so a run is a function of its seed.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_eval::object_dynamics::{DeltaV, ObjectTrajectory};
use learnsim_models::{InteractionNetwork, InteractionNetworkConfig, Mlp, MlpConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::path::Path;

use crate::{Checkpointing, FirstValidation, FitPlan, Keep, LossPoint, TrainError, Validation};

mod batch;
mod features;

pub use batch::InNormalization;
use batch::{graph_batch, target_tensor, transitions, unbatch};
pub use features::GraphFeatures;

/// Data, model sizes and training recipe of an object-dynamics case (`configs/nbody-2d.toml`,
/// `configs/spring-chain.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectTrainConfig {
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
    /// MLP baseline hidden width (cases without the MLP baseline may omit it).
    #[serde(default = "default_mlp_hidden")]
    pub mlp_hidden: usize,
    /// MLP baseline hidden layers.
    #[serde(default = "default_mlp_layers")]
    pub mlp_layers: usize,
    /// Validation loss every this many steps.
    pub validate_every: usize,
    /// Rollout length of the position bar.
    pub rollout_steps: usize,
}

fn default_mlp_hidden() -> usize {
    96
}

fn default_mlp_layers() -> usize {
    2
}

impl crate::Validate for ObjectTrainConfig {
    fn validate(&self) -> Result<(), crate::FieldError> {
        use crate::{Bound, count_in, learning_rates, real_in};
        count_in("n_bodies[0]", self.n_bodies[0], 1, 1000)?;
        count_in("n_bodies[1]", self.n_bodies[1], self.n_bodies[0], 1000)?;
        count_in("n_generalisation", self.n_generalisation, 1, 1000)?;
        for (k, name) in ["train", "valid", "test", "generalisation"]
            .iter()
            .enumerate()
        {
            count_in(
                &format!("trajectories[{k}] ({name})"),
                self.trajectories[k],
                1,
                1_000_000,
            )?;
        }
        count_in("frames", self.frames, 2, 1_000_000)?;
        count_in("steps", self.steps, 1, 1_000_000_000)?;
        count_in("batch_size", self.batch_size, 1, 65_536)?;
        learning_rates(self.lr_initial, self.lr_final)?;
        real_in(
            "lr_decay_steps",
            self.lr_decay_steps,
            0.0,
            1e12,
            Bound::Exclusive,
        )?;
        count_in("relation_hidden", self.relation_hidden, 1, 65_536)?;
        count_in("relation_layers", self.relation_layers, 1, 64)?;
        count_in("effect", self.effect, 1, 65_536)?;
        count_in("object_hidden", self.object_hidden, 1, 65_536)?;
        count_in("mlp_hidden", self.mlp_hidden, 1, 65_536)?;
        count_in("mlp_layers", self.mlp_layers, 1, 64)?;
        count_in("validate_every", self.validate_every, 1, usize::MAX)?;
        count_in("rollout_steps", self.rollout_steps, 1, self.frames - 1)?;
        let n = self.relation_hidden;
        crate::network_memory("relation_hidden", n, 1, self.relation_layers + 1, n)?;
        crate::network_memory(
            "object_hidden",
            self.object_hidden,
            1,
            2,
            self.object_hidden,
        )?;
        crate::network_memory("effect", self.effect, 2, 1, self.effect)?;
        crate::network_memory(
            "mlp_hidden",
            self.mlp_hidden,
            1,
            self.mlp_layers + 1,
            self.mlp_hidden,
        )?;
        Ok(())
    }
}

impl ObjectTrainConfig {
    /// The learning rate at `step`.
    pub fn learning_rate(&self, step: usize) -> f64 {
        crate::config::exponential_decay(self.lr_initial, self.lr_final, self.lr_decay_steps, step)
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

/// A trained Interaction Network with its normalisation, for states of type `S`.
#[derive(Debug, Clone)]
pub struct InDynamics<S> {
    /// The network (inference copy).
    pub network: InteractionNetwork,
    /// Input and target statistics.
    pub norm: InNormalization,
    device: Device,
    state: PhantomData<fn(&S)>,
}

impl<S: GraphFeatures> DeltaV<S> for InDynamics<S> {
    fn delta_v(&self, systems: &[&S]) -> Vec<Vec<[f64; 2]>> {
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

/// The MLP baseline on one fixed object count: the state's flat row → every Δv.
#[derive(Debug, Clone)]
pub struct MlpDynamics<S> {
    /// The network (inference copy).
    pub network: Mlp,
    /// Objects it was trained on.
    pub n_bodies: usize,
    input: Standardizer,
    target: Standardizer,
    device: Device,
    state: PhantomData<fn(&S)>,
}

impl<S: GraphFeatures> MlpDynamics<S> {
    fn forward(&self, network: &Mlp, systems: &[&S], device: &Device) -> Tensor<2> {
        let mut input = Vec::new();
        for b in systems {
            let row = b.flat_row();
            assert_eq!(
                row.len(),
                5 * self.n_bodies,
                "the MLP baseline has a fixed N"
            );
            self.input.apply(&row, &mut input);
        }
        let width = 5 * self.n_bodies;
        network.forward(Tensor::from_data(
            TensorData::new(input, [systems.len(), width]),
            device,
        ))
    }
}

impl<S: GraphFeatures> DeltaV<S> for MlpDynamics<S> {
    fn delta_v(&self, systems: &[&S]) -> Vec<Vec<[f64; 2]>> {
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
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

/// Transitions (trajectory, frame) drawn uniformly.
fn draw<T: ObjectTrajectory>(data: &[T], count: usize, rng: &mut impl Rng) -> Vec<(usize, usize)> {
    (0..count)
        .map(|_| {
            let k = rng.random_range(0..data.len());
            (k, rng.random_range(0..data[k].n_frames() - 1))
        })
        .collect()
}

fn check<T: ObjectTrajectory>(data: &[T], what: &str) -> Result<(), TrainError> {
    if data.is_empty() || data.iter().any(|t| t.n_frames() < 2) {
        return Err(TrainError::Data(format!(
            "the {what} set needs trajectories of at least 2 frames"
        )));
    }
    Ok(())
}

/// Adam with exponential decay on `loss(model, transitions)` through the shared fit loop
/// ([`crate::fit`]), validation on a fixed draw from `valid`, checkpoints in `checkpoint`
/// (every `validate_every` steps) that a rerun resumes from.
fn fit<M: Module, T: ObjectTrajectory>(
    config: &ObjectTrainConfig,
    model: M,
    train: &[T],
    valid: &[T],
    loss: impl Fn(&M, &[T], &[(usize, usize)]) -> Tensor<1>,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<Fitted<M>, TrainError> {
    let mut valid_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x05EE_D0F7_A11D);
    let valid_draw = draw(valid, 1000, &mut valid_rng);
    let plan = FitPlan {
        steps: config.steps,
        validation: Validation::Every {
            steps: config.validate_every,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::Last,
        checkpoint: Checkpointing::in_dir(checkpoint, config.validate_every),
    };
    // Data-parallel (docs/cluster.md): every rank draws the whole batch from (seed, step) and
    // trains on its block; the fit averages the blocks' gradients.
    let world = crate::distributed::world();
    let part = crate::distributed::share(config.batch_size, world.rank(), world.size())
        .map_err(TrainError::Data)?;
    let fitted = crate::fit(
        &plan,
        model,
        // No sampler state: every step seeds its own batch RNG from (seed, step).
        (),
        |step| config.learning_rate(step),
        |model, step, _| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(config.seed.wrapping_mul(0x9E37_79B9) ^ step as u64);
            let batch = draw(train, config.batch_size, &mut rng);
            if world.size() == 1 {
                return loss(model, train, &batch);
            }
            // The loss is a mean over the objects of its transitions, and trajectories of
            // different object counts give blocks of different sizes: each block's mean is
            // weighted by its share of the batch's objects (times the ranks, whose mean the
            // fit takes), so the ranks' losses average to the whole batch's.
            let block = &batch[part.clone()];
            let objects = |pick: &[(usize, usize)]| -> usize {
                pick.iter().map(|&(k, _)| train[k].n_objects()).sum()
            };
            let share = (objects(block) * world.size()) as f64 / objects(&batch) as f64;
            loss(model, train, block).mul_scalar(share)
        },
        |model| f64::from(loss(&model.valid(), valid, &valid_draw).into_scalar::<f32>()),
        &mut crate::fit::reporting(progress),
    )?;
    Ok(Fitted {
        model: fitted.model,
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
        seconds: fitted.seconds,
    })
}

/// burn draws initial weights from the device's RNG: seed it, under a lock so that models built
/// concurrently cannot interleave, and force every lazy parameter now. A network built at the
/// same time without this lock (a test's `MlpConfig::init`) can still draw from the RNG between
/// the seed and the draws, so the weights are drawn twice from the seed and kept only when both
/// draws agree bit for bit (measured: concurrent tests gave the SchNet trainer other weights
/// for the same seed, caught by the data-parallel test's comparison with one process).
pub fn seeded_init<M: Module>(device: &Device, seed: u64, init: impl Fn() -> M) -> M {
    /// Draws before giving up on agreement (each is two inits of a small network).
    const TRIES: usize = 100;
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let draw = || {
        device.seed(seed);
        init().into_record()
    };
    let mut record = draw();
    for _ in 0..TRIES {
        let again = draw();
        if crate::model_parameters(&init().load_record(again.clone()))
            == crate::model_parameters(&init().load_record(record.clone()))
        {
            break;
        }
        record = again;
    }
    init().load_record(record)
}

/// Trains the Interaction Network on `train` (any mix of object counts); with `checkpoint`, saves
/// itself there every `validate_every` steps and resumes from a checkpoint of the same plan.
pub fn train_interaction_network<T: ObjectTrajectory>(
    config: &ObjectTrainConfig,
    train: &[T],
    valid: &[T],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<Fitted<InDynamics<T::State>>, TrainError>
where
    T::State: GraphFeatures,
{
    check(train, "training")?;
    check(valid, "validation")?;
    let norm = InNormalization::fit(train);
    let net_config =
        InteractionNetworkConfig::new(T::State::OBJECT_WIDTH, T::State::RELATION_WIDTH, 2)
            .with_relation_hidden(config.relation_hidden)
            .with_relation_layers(config.relation_layers)
            .with_effect(config.effect)
            .with_object_hidden(config.object_hidden);
    let network = seeded_init(device, config.seed, || net_config.init(device));
    let loss = |net: &InteractionNetwork, data: &[T], pick: &[(usize, usize)]| {
        let states: Vec<T::State> = pick.iter().map(|&(k, t)| data[k].state(t)).collect();
        let dvs: Vec<Vec<[f64; 2]>> = pick.iter().map(|&(k, t)| data[k].delta_v(t)).collect();
        let refs: Vec<&T::State> = states.iter().collect();
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
    let fitted = fit(config, network, train, valid, loss, checkpoint, progress)?;
    Ok(Fitted {
        model: InDynamics {
            network: fitted.model.valid(),
            norm,
            device: device.clone(),
            state: PhantomData,
        },
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
        seconds: fitted.seconds,
    })
}

/// Trains the MLP baseline on the trajectories of `train` with exactly `n_bodies` objects
/// (checkpoints as [`train_interaction_network`]).
pub fn train_mlp_baseline<T: ObjectTrajectory + Clone>(
    config: &ObjectTrainConfig,
    n_bodies: usize,
    train: &[T],
    valid: &[T],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<Fitted<MlpDynamics<T::State>>, TrainError>
where
    T::State: GraphFeatures,
{
    let pick_n = |data: &[T]| -> Vec<T> {
        data.iter()
            .filter(|t| t.n_objects() == n_bodies)
            .cloned()
            .collect()
    };
    let (train, valid) = (pick_n(train), pick_n(valid));
    check(&train, &format!("{n_bodies}-body training"))?;
    check(&valid, &format!("{n_bodies}-body validation"))?;
    let input = Standardizer::fit(transitions(&train).map(|(b, _)| b.flat_row()), 5 * n_bodies);
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
        state: PhantomData,
    };
    let loss = |net: &Mlp, data: &[T], pick: &[(usize, usize)]| {
        let states: Vec<T::State> = pick.iter().map(|&(k, t)| data[k].state(t)).collect();
        let refs: Vec<&T::State> = states.iter().collect();
        let out = shell.forward(net, &refs, device);
        let mut target = Vec::new();
        for &(k, t) in pick {
            let dv: Vec<f64> = data[k].delta_v(t).iter().flatten().copied().collect();
            shell.target.apply(&dv, &mut target);
        }
        let target = Tensor::from_data(TensorData::new(target, [pick.len(), 2 * n_bodies]), device);
        (out - target).powf_scalar(2.0).mean()
    };
    let fitted = fit(config, network, &train, &valid, loss, checkpoint, progress)?;
    Ok(Fitted {
        model: MlpDynamics {
            network: fitted.model.valid(),
            ..shell
        },
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
        seconds: fitted.seconds,
    })
}
