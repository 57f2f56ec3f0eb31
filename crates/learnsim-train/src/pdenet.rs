//! PDE-Net 2.0 on 2D Burgers: curriculum training over the number of unrolled forward-Euler
//! steps with the paper's sparsity penalties, rollout scores, and the learned PDE read off the
//! SymNets as polynomials.

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, FitPlan, Keep, Penalised, Validation};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{DERIVATIVES, PdeNet, PdeNetConfig, SymNet};
use learnsim_sim::burgers::{BurgersRecipe, BurgersTrajectory, Velocity2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The `burgers-2d` case's configuration (`configs/burgers-2d.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdeNetTrainConfig {
    /// Seed of the data, the initialisation and nothing else (full-batch training).
    pub seed: u64,
    /// The data (`[burgers]` table).
    pub burgers: BurgersRecipe,
    /// Training trajectories (one full batch).
    pub batch: usize,
    /// The first half of the batch starts after evolving this long.
    pub data_start_time: f64,
    /// Curriculum: unrolled steps per block (0 = one-step warm-up without regularisation).
    pub blocks: Vec<usize>,
    /// Adam iterations per block.
    pub iterations: usize,
    /// Adam learning rate at the start of every block.
    pub lr: f64,
    /// The learning rate at the end of every block, reached geometrically (absent: constant).
    /// Full-batch Adam at a constant rate keeps circling the minimum at a distance ∝ the rate;
    /// the decay settles each block's coefficients before the next lengthens the unroll.
    #[serde(default)]
    pub lr_final: Option<f64>,
    /// Product layers per SymNet.
    pub hidden_layers: usize,
    /// Accuracy order of the moment constraint.
    pub accuracy: usize,
    /// Weight of the SymNet sparsity penalty, per unrolled step.
    pub symnet_sparsity: f64,
    /// Weight of the moment sparsity penalty, per unrolled step.
    pub moment_sparsity: f64,
    /// Test trajectories (from t = 0).
    pub test_trajectories: usize,
    /// Steps of each test rollout.
    pub test_steps: usize,
    /// Forward-Euler steps per frame: the network is applied this many times with dt/k
    /// (still PDE-Net's scheme; its −(dt/2)·u_tt error per frame shrinks k-fold).
    #[serde(default = "one")]
    pub substeps: usize,
}

fn one() -> usize {
    1
}

impl PdeNetTrainConfig {
    /// The learning rate at iteration `i` of a block: `lr`·(`lr_final`/`lr`)^(i/(iterations − 1)).
    pub fn learning_rate(&self, i: usize) -> f64 {
        match self.lr_final {
            Some(end) if self.iterations > 1 => {
                self.lr * (end / self.lr).powf(i as f64 / (self.iterations - 1) as f64)
            }
            _ => self.lr,
        }
    }

    /// The network, with moment-constrained or frozen filters.
    pub fn network(&self, frozen: bool) -> PdeNetConfig {
        PdeNetConfig::new(
            2,
            self.hidden_layers,
            self.accuracy,
            frozen,
            self.burgers.spacing(),
            self.burgers.dt / self.substeps.max(1) as f64,
            true,
        )
    }

    /// Frames each training trajectory needs: the longest block plus its start.
    pub fn training_frames(&self) -> usize {
        self.blocks.iter().copied().max().unwrap_or(1).max(1) + 1
    }
}

/// `[batch, 2, n, n]` frames `t` of `trajectories`.
pub fn frames_tensor(trajectories: &[&BurgersTrajectory], t: usize, device: &Device) -> Tensor<4> {
    let n = trajectories[0].frames[t].m;
    let data: Vec<f32> = trajectories
        .iter()
        .flat_map(|tr| {
            let f = &tr.frames[t];
            f.u.iter().chain(&f.v).map(|&x| x as f32)
        })
        .collect();
    Tensor::from_data(TensorData::new(data, [trajectories.len(), 2, n, n]), device)
}

/// A trained PDE-Net with its loss curve.
#[derive(Debug)]
pub struct TrainedPdeNet {
    model: PdeNet,
    substeps: usize,
    /// Data loss (without penalties) per iteration, over all blocks.
    pub train_loss: Vec<LossPoint>,
    /// Test-free check: the one-step data loss at the end of each block.
    pub block_loss: Vec<LossPoint>,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

/// Trains on `train` (≥ `training_frames` frames each) through the curriculum: one Adam over
/// every block (`iterations` steps each, the rate restarting per block), through the shared
/// fit loop; with `checkpoint`, saves itself there at the end of each block and resumes from
/// a checkpoint of the same plan.
pub fn train_pdenet(
    config: &PdeNetTrainConfig,
    frozen: bool,
    train: &[BurgersTrajectory],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedPdeNet, TrainError> {
    let needed = config.training_frames();
    if train.is_empty() || train.iter().any(|t| t.frames.len() < needed) {
        return Err(TrainError::Data(format!(
            "every training trajectory needs {needed} frames"
        )));
    }
    for (name, rate) in [("lr", Some(config.lr)), ("lr_final", config.lr_final)] {
        if let Some(rate) = rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(TrainError::Data(format!(
                "{name} = {rate}: a learning rate must be positive and finite"
            )));
        }
    }
    let network = config.network(frozen);
    let model = seeded_init(device, config.seed, || network.init(device));
    let refs: Vec<&BurgersTrajectory> = train.iter().collect();
    let observed: Vec<Tensor<4>> = (0..needed)
        .map(|t| frames_tensor(&refs, t, device))
        .collect();
    let dt = config.burgers.dt;
    let iterations = config.iterations.max(1);
    let plan = FitPlan {
        steps: config.blocks.len() * config.iterations,
        validation: Validation::Never,
        keep: Keep::Last,
        checkpoint: Checkpointing::in_dir(checkpoint, iterations),
    };
    let fitted = crate::fit(
        &plan,
        model,
        (),
        |step| config.learning_rate(step % iterations),
        |model, step, _| {
            let block = config.blocks[step / iterations];
            let steps = block.max(1);
            let mut u = observed[0].clone();
            let mut data = None;
            for s in 1..=steps {
                for _ in 0..config.substeps.max(1) {
                    u = model.step(u);
                }
                let diff = (u.clone() - observed[s].clone()) / dt;
                let term = (diff.clone() * diff).mean();
                data = Some(match data {
                    Some(total) => total + term,
                    None => term,
                });
            }
            let data = data.expect("at least one step");
            let total = if block > 0 {
                let weight = steps as f64;
                let mut penalty = model
                    .symnets()
                    .iter()
                    .map(|s| s.huber_l1(1e-3))
                    .reduce(|a, b| a + b)
                    .expect("two SymNets")
                    * (weight * config.symnet_sparsity);
                if !frozen {
                    penalty =
                        penalty + model.moment_huber_l1(1e-2) * (weight * config.moment_sparsity);
                }
                data.clone() + penalty
            } else {
                data.clone()
            };
            Penalised { total, data }
        },
        |_| 0.0,
        &mut crate::fit::reporting(progress),
    )?;
    let train_loss = crate::fit::counted_from_one(fitted.train_loss);
    // The data loss of each block's last iteration.
    let block_loss = (1..=config.blocks.len())
        .map(|k| {
            let step = k * config.iterations;
            LossPoint {
                step,
                loss: step
                    .checked_sub(1)
                    .and_then(|i| train_loss.get(i))
                    .map_or(f32::NAN, |p| p.loss),
            }
        })
        .collect();
    Ok(TrainedPdeNet {
        model: fitted.model.valid(),
        substeps: config.substeps.max(1),
        train_loss,
        block_loss,
        seconds: fitted.seconds,
    })
}

/// Per-step relative L2 error sqrt(Σ_c mean(û − u)² / Σ_c var(u)) averaged (inside the root)
/// over trajectories, for steps 0, …, `steps`; `predicted[i]` holds the frames 0..=`steps`
/// rolled out from `test[i]`'s first frame.
pub fn relative_l2_by_step(
    test: &[BurgersTrajectory],
    steps: usize,
    predicted: &[Vec<Velocity2>],
) -> Vec<f64> {
    let mut err = vec![0.0; steps + 1];
    for (tr, predicted) in test.iter().zip(predicted) {
        for t in 0..=steps {
            let truth = &tr.frames[t];
            let p = &predicted[t];
            let mut num = 0.0;
            let mut den = 0.0;
            for (a, b) in [(&p.u, &truth.u), (&p.v, &truth.v)] {
                let len = b.len() as f64;
                let mean = b.iter().sum::<f64>() / len;
                num += a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / len;
                den += b.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / len;
            }
            err[t] += num / den;
        }
    }
    err.iter()
        .map(|e| (e / test.len().max(1) as f64).sqrt())
        .collect()
}

impl TrainedPdeNet {
    /// Rolls out `steps` frames (each `substeps` forward-Euler steps) from `start`; frame 0 is
    /// the start.
    pub fn rollout(&self, start: &Velocity2, steps: usize, device: &Device) -> Vec<Velocity2> {
        let n = start.m;
        let data: Vec<f32> = start.u.iter().chain(&start.v).map(|&x| x as f32).collect();
        let mut u = Tensor::<4>::from_data(TensorData::new(data, [1, 2, n, n]), device);
        let mut out = vec![start.clone()];
        for _ in 0..steps {
            for _ in 0..self.substeps {
                u = self.model.step(u);
            }
            let values = u
                .clone()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 fields");
            let (a, b) = values.split_at(n * n);
            out.push(Velocity2 {
                m: n,
                u: a.iter().map(|&x| f64::from(x)).collect(),
                v: b.iter().map(|&x| f64::from(x)).collect(),
            });
        }
        out
    }

    /// The learned right-hand side of each field as a polynomial in the filtered fields.
    pub fn equations(&self) -> Vec<Polynomial> {
        self.model.symnets().iter().map(expand).collect()
    }
}

/// A polynomial in the filtered fields: exponent vector (one entry per feature) → coefficient.
pub type Polynomial = BTreeMap<Vec<u8>, f64>;

/// Name of feature `f` of two fields (u, v) × [`DERIVATIVES`].
pub fn feature_name(f: usize) -> String {
    let field = ["u", "v"][f / DERIVATIVES.len()];
    let (i, j) = DERIVATIVES[f % DERIVATIVES.len()];
    if i + j == 0 {
        field.into()
    } else {
        format!("{field}_{}{}", "x".repeat(i), "y".repeat(j))
    }
}

/// Monomial name, e.g. `u u_x` (empty exponents: `1`).
pub fn monomial_name(exponents: &[u8]) -> String {
    let parts: Vec<String> = exponents
        .iter()
        .enumerate()
        .filter(|&(_, &e)| e > 0)
        .map(|(f, &e)| {
            if e == 1 {
                feature_name(f)
            } else {
                format!("{}^{e}", feature_name(f))
            }
        })
        .collect();
    if parts.is_empty() {
        "1".into()
    } else {
        parts.join(" ")
    }
}

/// The monomial of the given features (each to the first power).
pub fn monomial(features: &[usize], variables: usize) -> Vec<u8> {
    let mut e = vec![0u8; variables];
    for &f in features {
        e[f] += 1;
    }
    e
}

/// Coefficients below this are dropped while expanding (far below the 1e-3 pruning).
const EXPANSION_FLOOR: f64 = 1e-9;

fn multiply(a: &Polynomial, b: &Polynomial) -> Polynomial {
    let mut out = Polynomial::new();
    for (ea, ca) in a {
        for (eb, cb) in b {
            let e: Vec<u8> = ea.iter().zip(eb).map(|(x, y)| x + y).collect();
            *out.entry(e).or_insert(0.0) += ca * cb;
        }
    }
    out.retain(|_, c| c.abs() > EXPANSION_FLOOR);
    out
}

/// Expands a SymNet into a polynomial in its inputs.
pub fn expand(symnet: &SymNet) -> Polynomial {
    let layers = symnet.layers();
    let inputs = layers.first().map_or(0, |l| l.1);
    let mut features: Vec<Polynomial> = (0..inputs)
        .map(|f| Polynomial::from([(monomial(&[f], inputs), 1.0)]))
        .collect();
    let combine = |features: &[Polynomial], w: &[f64], d_out: usize, col: usize, bias: f64| {
        let mut p = Polynomial::new();
        if bias.abs() > EXPANSION_FLOOR {
            p.insert(vec![0; inputs], bias);
        }
        for (row, f) in features.iter().enumerate() {
            let weight = w[row * d_out + col];
            for (e, c) in f {
                *p.entry(e.clone()).or_insert(0.0) += weight * c;
            }
        }
        p.retain(|_, c| c.abs() > EXPANSION_FLOOR);
        p
    };
    let (last, hidden) = layers.split_last().expect("an output layer");
    for (w, _, d_out, b) in hidden {
        let a = combine(&features, w, *d_out, 0, b[0]);
        let c = combine(&features, w, *d_out, 1, b[1]);
        features.push(multiply(&a, &c));
    }
    combine(&features, &last.0, last.2, 0, last.3[0])
}

/// `c₁ term₁ + c₂ term₂ + …` of the coefficients with |c| ≥ `prune`, largest first.
pub fn format_equation(p: &Polynomial, prune: f64) -> String {
    let mut terms: Vec<(&Vec<u8>, f64)> = p
        .iter()
        .filter(|(_, c)| c.abs() >= prune)
        .map(|(e, &c)| (e, c))
        .collect();
    terms.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    if terms.is_empty() {
        return "0".into();
    }
    terms
        .iter()
        .enumerate()
        .map(|(k, (e, c))| {
            let sign = match (k, *c < 0.0) {
                (0, true) => "−",
                (0, false) => "",
                (_, true) => " − ",
                (_, false) => " + ",
            };
            format!("{sign}{:.4} {}", c.abs(), monomial_name(e))
        })
        .collect::<String>()
}
