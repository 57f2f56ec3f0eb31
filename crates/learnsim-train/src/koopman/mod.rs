//! Compositional Koopman operators (Li et al. 2020) on the rope: a graph encoder maps each
//! ball's state to a code g ∈ (−1, 1)^D, the codes evolve linearly with blocks shared per
//! relation type, g′_i = Σ_r Σ_{j ∈ N_r(i)} (g_j A_r + u_j B_r), and an MLP decodes each code
//! back to the state. A and B are not learned by gradient: for a group of rollouts sharing
//! physical parameters they are fitted by ridge least squares on the codes of a few of them.
//! The baseline is the same structured fit on a fixed polynomial basis of the state.

mod control;
mod linear;

pub use control::{
    cko_rollout_mse, control_to_target, persistence_rollout_mse, plan_actions,
    polynomial_rollout_mse, random_actions_to, shape_error,
};
use linear::cholesky_solve;
pub use linear::{BlockLinear, polynomial_basis};

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_models::{Gns, GnsConfig, Mlp, MlpConfig};
use learnsim_sim::rope::{RopeGroup, RopeRecipe, RopeRollout};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Relation types of the rope (receiver i, sender j): root self, root→child spring,
/// child→root spring, root→child bihop, child→root bihop, child–child spring, child–child
/// bihop, child self.
pub const RELATIONS: usize = 8;

/// The relation type from ball `j` to ball `i`, or `None` if they are not related.
pub fn relation(i: usize, j: usize) -> Option<usize> {
    match (i.abs_diff(j), i, j) {
        (0, 0, _) => Some(0),
        (0, _, _) => Some(7),
        (1, _, 0) => Some(1),
        (1, 0, _) => Some(2),
        (1, _, _) => Some(5),
        (2, _, 0) => Some(3),
        (2, 0, _) => Some(4),
        (2, _, _) => Some(6),
        _ => None,
    }
}

/// The `rope-koopman` case's configuration (`configs/rope-koopman.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KoopmanConfig {
    /// Seed of the groups, initialisation and batches.
    pub seed: u64,
    /// The rope (`[rope]` table).
    pub rope: RopeRecipe,
    /// Training groups (ball counts 5–9).
    pub train_groups: usize,
    /// Validation groups (5–9).
    pub valid_groups: usize,
    /// Extrapolation groups (10–14).
    pub extrapolation_groups: usize,
    /// Rollouts per group.
    pub rollouts_per_group: usize,
    /// Rollouts of a group that A and B are fitted on.
    pub fit_rollouts: usize,
    /// Code width D per ball.
    pub code: usize,
    /// Encoder latent width.
    pub latent: usize,
    /// Encoder message-passing steps.
    pub message_passing_steps: usize,
    /// Decoder hidden width (two hidden layers).
    pub decoder_hidden: usize,
    /// Ridge factor λ of (XᵀX + λI)⁻¹XᵀY.
    pub ridge: f64,
    /// Steps of the linear rollout in the prediction loss.
    pub sequence: usize,
    /// Adam steps.
    pub steps: usize,
    /// Learning rate at step 0.
    pub lr_initial: f64,
    /// Learning rate at the last step (geometric in between).
    pub lr_final: f64,
    /// Validation every this many steps.
    pub validate_every: usize,
    /// Control: steps to reach the target shape.
    pub control_steps: usize,
    /// Control: target shapes per validation group.
    pub control_targets: usize,
    /// Control: ridge weight ρ of Σu² in the latent least-squares plan.
    pub action_cost: f64,
}

impl KoopmanConfig {
    fn learning_rate(&self, step: usize) -> f64 {
        self.lr_initial
            * (self.lr_final / self.lr_initial).powf(step as f64 / self.steps.max(1) as f64)
    }

    /// The encoder: node input [normalised state, is_root], edge input [relation one-hot,
    /// s_j − s_i normalised], output D (then tanh).
    pub fn encoder(&self) -> GnsConfig {
        GnsConfig::new(5, RELATIONS + 4, self.code)
            .with_latent(self.latent)
            .with_n_hidden(2)
            .with_message_passing_steps(self.message_passing_steps)
    }

    /// The decoder: D → 2 × hidden ReLU → normalised state.
    pub fn decoder(&self) -> MlpConfig {
        MlpConfig::new(self.code, self.decoder_hidden, 2, 4, false)
    }
}

/// Per-component mean and std of the ball states.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StateScale {
    /// Mean of x, y, ẋ, ẏ.
    pub mean: [f64; 4],
    /// Std of x, y, ẋ, ẏ.
    pub std: [f64; 4],
}

impl StateScale {
    /// Fitted on every ball of every frame.
    pub fn fit(groups: &[RopeGroup]) -> Self {
        let all: Vec<[f64; 4]> = groups
            .iter()
            .flat_map(|g| &g.rollouts)
            .flat_map(|r| r.states.iter().flatten().copied())
            .collect();
        let n = all.len() as f64;
        let mean = [0, 1, 2, 3].map(|k| all.iter().map(|s| s[k]).sum::<f64>() / n);
        let std = [0, 1, 2, 3].map(|k| {
            (all.iter().map(|s| (s[k] - mean[k]).powi(2)).sum::<f64>() / n)
                .sqrt()
                .max(1e-9)
        });
        Self { mean, std }
    }

    fn normalise(&self, s: &[f64; 4]) -> [f64; 4] {
        [0, 1, 2, 3].map(|k| (s[k] - self.mean[k]) / self.std[k])
    }

    fn restore(&self, z: &[f64]) -> [f64; 4] {
        [0, 1, 2, 3].map(|k| z[k] * self.std[k] + self.mean[k])
    }
}

/// Codes of a set of rollouts of one group: `codes[r][t][i]` is ball i's D-vector.
pub type Codes = Vec<Vec<Vec<Vec<f64>>>>;

/// The encoder's graph of one frame of `n` balls repeated `frames` times: sender/receiver
/// indices of the related pairs (self relations excluded) and their relation types.
fn frame_graph(n: usize, frames: usize) -> (Vec<i64>, Vec<i64>, Vec<usize>) {
    let (mut s, mut r, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for f in 0..frames {
        for i in 0..n {
            for j in 0..n {
                if i != j
                    && let Some(rel) = relation(i, j)
                {
                    s.push((f * n + j) as i64);
                    r.push((f * n + i) as i64);
                    t.push(rel);
                }
            }
        }
    }
    (s, r, t)
}

/// Encoder and decoder.
#[derive(Debug, Clone)]
pub struct KoopmanNets {
    /// Graph encoder (output through tanh).
    pub encoder: Gns,
    /// Per-ball decoder.
    pub decoder: Mlp,
    /// State normalisation.
    pub scale: StateScale,
}

/// Encoder and decoder as one module, what the fit loop trains.
#[derive(Module, Debug)]
pub struct EncoderDecoder {
    encoder: Gns,
    decoder: Mlp,
}

impl EncoderDecoder {
    /// The networks with the state normalisation.
    fn with_scale(&self, scale: StateScale) -> KoopmanNets {
        KoopmanNets {
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
            scale,
        }
    }
}

impl KoopmanNets {
    /// The two networks as one module.
    fn networks(self) -> EncoderDecoder {
        EncoderDecoder {
            encoder: self.encoder,
            decoder: self.decoder,
        }
    }

    /// Codes of `frames` (each `n` balls), as a tensor `[frames·n, D]`.
    fn encode(&self, frames: &[&Vec<[f64; 4]>], device: &Device) -> Tensor<2> {
        let n = frames[0].len();
        let mut nodes = Vec::with_capacity(frames.len() * n * 5);
        for f in frames {
            for (i, s) in f.iter().enumerate() {
                nodes.extend(self.scale.normalise(s).map(|v| v as f32));
                nodes.push(if i == 0 { 1.0 } else { 0.0 });
            }
        }
        let (senders, receivers, types) = frame_graph(n, frames.len());
        let mut edges = Vec::with_capacity(types.len() * (RELATIONS + 4));
        for ((s, r), t) in senders.iter().zip(&receivers).zip(&types) {
            let (s, r) = (*s as usize, *r as usize);
            let mut one_hot = [0.0f32; RELATIONS];
            one_hot[*t] = 1.0;
            edges.extend(one_hot);
            for k in 0..4 {
                edges.push(nodes[s * 5 + k] - nodes[r * 5 + k]);
            }
        }
        let e = types.len();
        let rows = frames.len() * n;
        self.encoder
            .forward(
                Tensor::from_data(TensorData::new(nodes, [rows, 5]), device),
                Tensor::from_data(TensorData::new(edges, [e, RELATIONS + 4]), device),
                Tensor::<1, Int>::from_data(TensorData::new(senders, [e]), device),
                Tensor::<1, Int>::from_data(TensorData::new(receivers, [e]), device),
            )
            .tanh()
    }

    /// Codes of `frames` on the host: `[frame][ball]` D-vectors.
    pub fn frame_codes(&self, frames: &[&Vec<[f64; 4]>], device: &Device) -> Vec<Vec<Vec<f64>>> {
        let n = frames[0].len();
        let flat = self
            .encode(frames, device)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 codes");
        let d = flat.len() / (frames.len() * n);
        flat.chunks(d * n)
            .map(|f| {
                f.chunks(d)
                    .map(|g| g.iter().map(|&v| f64::from(v)).collect())
                    .collect()
            })
            .collect()
    }

    /// Codes of every frame of `rollouts` on the host.
    pub fn codes(&self, rollouts: &[&RopeRollout], device: &Device) -> Codes {
        rollouts
            .iter()
            .map(|r| self.frame_codes(&r.states.iter().collect::<Vec<_>>(), device))
            .collect()
    }

    /// States of codes (rows of D → rows of [x, y, ẋ, ẏ]).
    pub fn decode(&self, codes: &[Vec<f64>], device: &Device) -> Vec<[f64; 4]> {
        let d = codes[0].len();
        let flat: Vec<f32> = codes.iter().flatten().map(|&v| v as f32).collect();
        let out = self
            .decoder
            .forward(Tensor::from_data(
                TensorData::new(flat, [codes.len(), d]),
                device,
            ))
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 states");
        out.chunks(4)
            .map(|z| {
                self.scale
                    .restore(&z.iter().map(|&v| f64::from(v)).collect::<Vec<_>>())
            })
            .collect()
    }
}

/// The linear step on a batch of codes in tensor ops: `adjacency[r]` `[rows, rows]`
/// (block-diagonal over rollouts), `actions` `[rows, 1]` (the root rows' impulses, zero
/// elsewhere), `w` `[(D+1)·R, D]`.
fn linear_step(
    g: Tensor<2>,
    actions: Tensor<2>,
    adjacency: &[Tensor<2>],
    w: &Tensor<2>,
) -> Tensor<2> {
    let parts: Vec<Tensor<2>> = adjacency
        .iter()
        .flat_map(|a| {
            [
                a.clone().matmul(g.clone()),
                a.clone().matmul(actions.clone()),
            ]
        })
        .collect();
    Tensor::cat(parts, 1).matmul(w.clone())
}

fn adjacency(n: usize, batch: usize, device: &Device) -> Vec<Tensor<2>> {
    let rows = n * batch;
    (0..RELATIONS)
        .map(|r| {
            let mut m = vec![0.0f32; rows * rows];
            for b in 0..batch {
                for i in 0..n {
                    for j in 0..n {
                        if relation(i, j) == Some(r) {
                            m[(b * n + i) * rows + b * n + j] = 1.0;
                        }
                    }
                }
            }
            Tensor::from_data(TensorData::new(m, [rows, rows]), device)
        })
        .collect()
}

/// Trained encoder/decoder and curves.
#[derive(Debug)]
pub struct TrainedKoopman {
    /// The networks (autodiff device).
    pub nets: KoopmanNets,
    /// Training loss per step.
    pub train_loss: Vec<LossPoint>,
    /// Validation 100-step position MSE at each validation.
    pub valid_mse: Vec<LossPoint>,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

fn normalised_tensor(states: &[&[f64; 4]], scale: &StateScale, device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = states
        .iter()
        .flat_map(|s| scale.normalise(s).map(|v| v as f32))
        .collect();
    Tensor::from_data(TensorData::new(flat, [states.len(), 4]), device)
}

/// Trains encoder and decoder: per step one training group, `fit_rollouts` of its rollouts;
/// their codes (detached) give A and B by ridge least squares; the loss is the L1
/// auto-encoding error over every frame plus the L1 error of the states decoded along the
/// linear rollout of `sequence` steps from a random frame, through the shared fit loop (one
/// Adam over both networks, which is the two of the paper's code: Adam is elementwise); with
/// `checkpoint`, saves itself there every `validate_every` steps and resumes from a checkpoint
/// of the same plan. `progress(step, loss)`.
pub fn train_koopman(
    config: &KoopmanConfig,
    train: &[RopeGroup],
    valid: &[RopeGroup],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedKoopman, TrainError> {
    if train.is_empty() || valid.is_empty() {
        return Err(TrainError::Data(
            "rope-koopman needs training and validation groups".into(),
        ));
    }
    let per = train[0].rollouts.len();
    if config.fit_rollouts == 0 || config.fit_rollouts >= per {
        return Err(TrainError::Data(format!(
            "rope-koopman: fit_rollouts {} must be in 1..{per} (rollouts per group)",
            config.fit_rollouts
        )));
    }
    let scale = StateScale::fit(train);
    let (enc, dec) = (config.encoder(), config.decoder());
    let nets = KoopmanNets {
        encoder: seeded_init(device, config.seed, || enc.init(device)),
        decoder: seeded_init(device, config.seed ^ 1, || dec.init(device)),
        scale,
    };
    let inference = device.clone().inner();
    let steps_total = config.rope.steps;
    let seq = config.sequence.min(steps_total);
    let plan = FitPlan {
        steps: config.steps,
        validation: Validation::Every {
            steps: config.validate_every,
            first: FirstValidation::AfterFirstInterval,
        },
        keep: Keep::Last,
        checkpoint: Checkpointing::in_dir(checkpoint, config.validate_every),
    };
    let fitted = crate::fit(
        &plan,
        nets.networks(),
        ChaCha8Rng::seed_from_u64(config.seed ^ 0xC0_0A7),
        |step| config.learning_rate(step),
        |networks: &EncoderDecoder, _, rng: &mut ChaCha8Rng| {
            let view = networks.with_scale(scale);
            let group = &train[rng.random_range(0..train.len())];
            let n = group.params.n;
            let chosen: Vec<&RopeRollout> = sample(rng, per, config.fit_rollouts)
                .into_iter()
                .map(|i| &group.rollouts[i])
                .collect();
            let b = chosen.len();
            // Every frame of every chosen rollout: [b·(T+1)·n, D].
            let frames: Vec<&Vec<[f64; 4]>> = chosen.iter().flat_map(|r| r.states.iter()).collect();
            let codes = view.encode(&frames, device);
            let d = config.code;
            let host: Vec<f32> = codes
                .clone()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 codes");
            let t1 = steps_total + 1;
            let host_codes: Codes = (0..b)
                .map(|r| {
                    (0..t1)
                        .map(|t| {
                            (0..n)
                                .map(|i| {
                                    let at = ((r * t1 + t) * n + i) * d;
                                    host[at..at + d].iter().map(|&v| f64::from(v)).collect()
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let actions: Vec<&[f64]> = chosen.iter().map(|r| r.actions.as_slice()).collect();
            let w = BlockLinear::fit(&host_codes, &actions, config.ridge).tensor(device);
            let states: Vec<&[f64; 4]> = frames.iter().flat_map(|f| f.iter()).collect();
            let target = normalised_tensor(&states, &scale, device);
            let reconstruction = (view.decoder.forward(codes.clone()) - target.clone())
                .abs()
                .mean();
            // Linear rollout of `seq` steps from frame t0 of each chosen rollout.
            let t0 = rng.random_range(0..=steps_total - seq);
            let rows_at = |t: usize| -> Tensor<1, Int> {
                let idx: Vec<i64> = (0..b)
                    .flat_map(|r| (0..n).map(move |i| ((r * t1 + t) * n + i) as i64))
                    .collect();
                Tensor::from_data(TensorData::new(idx, [b * n]), device)
            };
            let adj = adjacency(n, b, device);
            let mut g = codes.clone().select(0, rows_at(t0));
            let mut prediction = Tensor::<2>::zeros([1, 1], device).sum();
            for k in 0..seq {
                let mut u = vec![0.0f32; b * n];
                for (r, rollout) in chosen.iter().enumerate() {
                    u[r * n] = rollout.actions[t0 + k] as f32;
                }
                let u = Tensor::from_data(TensorData::new(u, [b * n, 1]), device);
                g = linear_step(g, u, &adj, &w);
                let truth = target.clone().select(0, rows_at(t0 + k + 1));
                prediction = prediction + (view.decoder.forward(g.clone()) - truth).abs().mean();
            }
            reconstruction + prediction.div_scalar(seq.max(1) as f64)
        },
        |networks| {
            let valid_nets = networks.valid().with_scale(scale);
            cko_rollout_mse(&valid_nets, valid, config, &inference)
        },
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedKoopman {
        nets: fitted.model.with_scale(scale),
        train_loss: fitted.train_loss,
        valid_mse: fitted.valid_loss,
        seconds: fitted.seconds,
    })
}

impl TrainedKoopman {
    /// The networks on the inference device.
    pub fn inference(&self) -> KoopmanNets {
        KoopmanNets {
            encoder: self.nets.encoder.valid(),
            decoder: self.nets.decoder.valid(),
            scale: self.nets.scale,
        }
    }
}
