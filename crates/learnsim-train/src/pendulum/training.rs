//! One-step training of the GN candidates and the MLP on the same batches, the choice of the
//! GN's architecture on validation episodes, and open-loop errors.

use super::models::{gn_delta, mlp_delta};
use super::*;
use crate::{Checkpointing, FirstValidation, FitPlan, Keep, Validation};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The one-step loss on normalised deltas of a batch of transitions.
fn one_step_loss(
    delta: impl Fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
    batch: &[Transition],
    scale: &PendulumScale,
    device: &Device,
) -> Tensor<1> {
    let states: Vec<Vec<f64>> = batch.iter().map(|t| t.state.clone()).collect();
    let torques: Vec<f64> = batch.iter().map(|t| t.torque).collect();
    let targets: Vec<Vec<f64>> = batch
        .iter()
        .map(|t| {
            (0..t.state.len())
                .map(|i| (t.next[i] - t.state[i] - scale.delta_mean[i]) / scale.delta_std[i])
                .collect()
        })
        .collect();
    let diff = delta(tensor_rows(&states, device), column(&torques, device))
        - tensor_rows(&targets, device);
    (diff.clone() * diff).mean()
}

/// A GN architecture tried, and how it did on the validation episodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The architecture.
    pub architecture: GnArchitecture,
    /// Its trainable scalars.
    pub parameters: usize,
    /// Mean open-loop error over the horizon on the validation episodes.
    pub valid_error: f64,
}

/// Both trained models and their curves.
#[derive(Debug)]
pub struct TrainedModels {
    /// The graph network of the chosen architecture.
    pub gn: GnDynamics,
    /// The MLP baseline, of the chosen GN's size.
    pub mlp: MlpDynamics,
    /// The chosen GN's architecture.
    pub architecture: GnArchitecture,
    /// Every GN architecture tried, in the config's order.
    pub candidates: Vec<Candidate>,
    /// Chosen GN's training loss per step.
    pub gn_loss: Vec<LossPoint>,
    /// Chosen GN's one-step validation loss.
    pub gn_valid_loss: Vec<LossPoint>,
    /// MLP training loss per step.
    pub mlp_loss: Vec<LossPoint>,
    /// MLP one-step validation loss (on the GN's validation transitions).
    pub mlp_valid_loss: Vec<LossPoint>,
    /// Wall-clock seconds of training every network, over every segment of a resumed run.
    pub seconds: f64,
}

/// A network after training, with its curves.
struct Fitted<M> {
    net: M,
    train_loss: Vec<LossPoint>,
    valid_loss: Vec<LossPoint>,
    seconds: f64,
}

/// What every network of one plant trains and validates on.
struct Data<'a> {
    train: &'a [Transition],
    valid: &'a [Transition],
    scale: &'a PendulumScale,
}

/// Adam with geometric decay on the one-step loss of `delta(net, ·)`, on batches drawn by
/// step (the same for every network), with the one-step validation loss every
/// `validate_every` steps, through the shared fit loop (checkpoints in `checkpoint`, resumed
/// by a rerun); `progress(step, loss)` gets steps from `offset + 1` on.
#[expect(
    clippy::too_many_arguments,
    reason = "one loop, its data and its reporting"
)]
fn fit<M: Module>(
    config: &PendulumConfig,
    net: M,
    delta: impl Fn(&M, Tensor<2>, Tensor<2>) -> Tensor<2>,
    data: &Data,
    device: &Device,
    checkpoint: Option<PathBuf>,
    offset: usize,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<Fitted<M>, TrainError> {
    let inference = device.clone().inner();
    let plan = FitPlan {
        steps: config.steps,
        validation: Validation::Every {
            steps: config.validate_every,
            first: FirstValidation::AfterFirstInterval,
        },
        keep: Keep::Last,
        checkpoint: Checkpointing::in_dir(checkpoint.as_deref(), config.validate_every),
    };
    let fitted = crate::fit(
        &plan,
        net,
        // No sampler state: every step seeds its own batch RNG from (seed, step).
        (),
        |step| config.learning_rate(step),
        |net, step, _| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(config.seed ^ (step as u64).wrapping_mul(0x9E37_79B9));
            let batch: Vec<Transition> = (0..config.batch_size)
                .map(|_| data.train[rng.random_range(0..data.train.len())].clone())
                .collect();
            one_step_loss(|s, u| delta(net, s, u), &batch, data.scale, device)
        },
        |net| {
            let frozen = net.valid();
            let loss = one_step_loss(
                |s, u| delta(&frozen, s, u),
                data.valid,
                data.scale,
                &inference,
            );
            f64::from(loss.into_scalar::<f32>())
        },
        &mut |step, loss| {
            progress(offset + step, loss);
            ControlFlow::Continue(())
        },
    )?;
    Ok(Fitted {
        net: fitted.model,
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
        seconds: fitted.seconds,
    })
}

/// Trains a GN of every architecture in `config.architectures`, keeps the one with the lowest
/// open-loop error on `valid`, then trains an MLP of its size on the same batches;
/// `progress(step, loss)` counts all steps ([`PendulumConfig::total_steps`]). With
/// `checkpoint`, each network's fit saves itself in a folder under it (named after the
/// architecture, `mlp` for the MLP) and resumes from there.
pub fn train_models(
    config: &PendulumConfig,
    plant: &Plant,
    train: &[Episode],
    valid: &[Episode],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedModels, TrainError> {
    let transitions: Vec<Transition> = train.iter().flat_map(Episode::transitions).collect();
    let valid_transitions: Vec<Transition> = valid
        .iter()
        .flat_map(Episode::transitions)
        .take(4096)
        .collect();
    if transitions.is_empty() || valid_transitions.is_empty() {
        return Err(TrainError::Data(
            "pendulum-mpc needs training and validation episodes".into(),
        ));
    }
    if config.architectures.is_empty() {
        return Err(TrainError::Data(
            "pendulum-mpc: `architectures` lists no GN to train".into(),
        ));
    }
    let scale = PendulumScale::fit(train);
    let data = Data {
        train: &transitions,
        valid: &valid_transitions,
        scale: &scale,
    };
    let dynamics = |model: ControlGn| GnDynamics {
        model,
        scale: scale.clone(),
        plant: plant.clone(),
    };
    let inference = device.clone().inner();
    let mut best: Option<(f64, GnArchitecture, Fitted<ControlGn>)> = None;
    let mut candidates = Vec::new();
    let mut seconds = 0.0;
    for (k, &architecture) in config.architectures.iter().enumerate() {
        let net = seeded_init(device, config.seed, || {
            config.gn(architecture, plant, device)
        });
        let gn_delta = |m: &ControlGn, s, u| gn_delta(m, &scale, plant, s, u);
        let fitted = fit(
            config,
            net,
            gn_delta,
            &data,
            device,
            checkpoint.map(|dir| dir.join(architecture.name())),
            k * config.steps,
            progress,
        )?;
        let frozen = dynamics(fitted.net.valid());
        let error = open_loop_error(&frozen, plant, valid, config.rollout_horizon, &inference);
        let valid_error = error.iter().sum::<f64>() / error.len().max(1) as f64;
        seconds += fitted.seconds;
        candidates.push(Candidate {
            architecture,
            parameters: fitted.net.num_params(),
            valid_error,
        });
        if best.as_ref().is_none_or(|(e, ..)| valid_error < *e) {
            best = Some((valid_error, architecture, fitted));
        }
    }
    let (_, architecture, gn_fitted) = best.expect("at least one architecture");
    let mlp_config = config.mlp(plant, gn_fitted.net.num_params());
    let net = seeded_init(device, config.seed ^ 1, || mlp_config.init(device));
    let mlp_delta = |m: &Mlp, s, u| mlp_delta(m, &scale, plant, s, u);
    let offset = config.architectures.len() * config.steps;
    let mlp_fitted = fit(
        config,
        net,
        mlp_delta,
        &data,
        device,
        checkpoint.map(|dir| dir.join("mlp")),
        offset,
        progress,
    )?;
    Ok(TrainedModels {
        architecture,
        gn: dynamics(gn_fitted.net),
        mlp: MlpDynamics {
            model: mlp_fitted.net,
            scale: scale.clone(),
            plant: plant.clone(),
        },
        candidates,
        gn_loss: gn_fitted.train_loss,
        gn_valid_loss: gn_fitted.valid_loss,
        seconds: seconds + mlp_fitted.seconds,
        mlp_loss: mlp_fitted.train_loss,
        mlp_valid_loss: mlp_fitted.valid_loss,
    })
}

impl TrainedModels {
    /// The GN on the inference device.
    pub fn gn_inference(&self) -> GnDynamics {
        GnDynamics {
            model: self.gn.model.valid(),
            ..self.gn.clone()
        }
    }

    /// The MLP on the inference device.
    pub fn mlp_inference(&self) -> MlpDynamics {
        MlpDynamics {
            model: self.mlp.model.valid(),
            ..self.mlp.clone()
        }
    }
}

/// Open-loop error of `model` against the true episodes: from every `horizon`-th state, the
/// recorded actions are replayed through the model for `horizon` steps; returns the mean
/// over windows of Σ_joints (Δq)² + (Δq̇)² (angles wrapped) at each step 1..=horizon.
pub fn open_loop_error(
    model: &impl Dynamics,
    plant: &Plant,
    episodes: &[Episode],
    horizon: usize,
    device: &Device,
) -> Vec<f64> {
    let mut starts = Vec::new();
    for (e, ep) in episodes.iter().enumerate() {
        let mut t = 0;
        while t + horizon <= ep.actions.len() {
            starts.push((e, t));
            t += horizon;
        }
    }
    let mut state = tensor_rows(
        &starts
            .iter()
            .map(|&(e, t)| episodes[e].states[t].clone())
            .collect::<Vec<_>>(),
        device,
    );
    let joints = plant.joints();
    let mut errors = Vec::with_capacity(horizon);
    for k in 0..horizon {
        let torques: Vec<f64> = starts
            .iter()
            .map(|&(e, t)| episodes[e].actions[t + k])
            .collect();
        state = model.step(state, column(&torques, device));
        let predicted = host_rows(state.clone());
        let sum: f64 = starts
            .iter()
            .zip(&predicted)
            .map(|(&(e, t), p)| {
                let truth = &episodes[e].states[t + k + 1];
                joints
                    .iter()
                    .enumerate()
                    .map(|(j, joint)| {
                        let dq = p[2 * j] - truth[2 * j];
                        let dq = if *joint == Joint::Revolute {
                            wrap_angle(dq)
                        } else {
                            dq
                        };
                        dq.powi(2) + (p[2 * j + 1] - truth[2 * j + 1]).powi(2)
                    })
                    .sum::<f64>()
            })
            .sum();
        errors.push(sum / starts.len().max(1) as f64);
    }
    errors
}
