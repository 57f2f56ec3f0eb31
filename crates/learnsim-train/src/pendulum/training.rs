//! One-step training of the GN and the MLP on the same batches, and open-loop errors.

use super::*;

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

/// Both trained models and their curves.
#[derive(Debug)]
pub struct TrainedModels {
    /// The graph network.
    pub gn: GnDynamics,
    /// The MLP baseline.
    pub mlp: MlpDynamics,
    /// GN training loss per step.
    pub gn_loss: Vec<LossPoint>,
    /// GN test one-step loss.
    pub gn_test_loss: Vec<LossPoint>,
    /// MLP training loss per step.
    pub mlp_loss: Vec<LossPoint>,
}

/// Trains the GN and then the MLP on the same batches (one-step MSE on normalised deltas,
/// Adam with geometric decay); `progress(step, loss)` counts both models' steps.
pub fn train_models(
    config: &PendulumConfig,
    plant: &Plant,
    train: &[Episode],
    test: &[Episode],
    device: &Device,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedModels, TrainError> {
    let transitions: Vec<Transition> = train.iter().flat_map(Episode::transitions).collect();
    let test_transitions: Vec<Transition> = test
        .iter()
        .flat_map(Episode::transitions)
        .take(4096)
        .collect();
    if transitions.is_empty() || test_transitions.is_empty() {
        return Err(TrainError::Data(
            "pendulum-mpc needs training and test episodes".into(),
        ));
    }
    let scale = PendulumScale::fit(train);
    let gn_config = config.gn(plant);
    let mut gn = GnDynamics {
        model: seeded_init(device, config.seed, || gn_config.init(device)),
        scale: scale.clone(),
        plant: plant.clone(),
    };
    let mlp_config = config.mlp(plant, gn.model.num_params());
    let mut mlp = MlpDynamics {
        model: seeded_init(device, config.seed ^ 1, || mlp_config.init(device)),
        scale: scale.clone(),
        plant: plant.clone(),
    };
    let batches = |step: usize| -> Vec<Transition> {
        let mut rng =
            ChaCha8Rng::seed_from_u64(config.seed ^ (step as u64).wrapping_mul(0x9E37_79B9));
        (0..config.batch_size)
            .map(|_| transitions[rng.random_range(0..transitions.len())].clone())
            .collect()
    };
    let inference = device.clone().inner();
    let (mut gn_loss, mut gn_test_loss, mut mlp_loss) = (Vec::new(), Vec::new(), Vec::new());
    let mut optimizer = AdamConfig::new().init();
    for step in 0..config.steps {
        let batch = batches(step);
        let loss = one_step_loss(|s, u| gn.delta(s, u), &batch, &scale, device);
        let value: f32 = loss.clone().into_scalar();
        if !value.is_finite() {
            return Err(TrainError::Diverged { step, loss: value });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &gn.model);
        gn.model = optimizer.step(config.learning_rate(step), gn.model, grads);
        gn_loss.push(LossPoint { step, loss: value });
        if (step + 1) % config.validate_every.max(1) == 0 || step + 1 == config.steps {
            let valid = GnDynamics {
                model: gn.model.valid(),
                ..gn.clone()
            };
            let test_value: f32 = one_step_loss(
                |s, u| valid.delta(s, u),
                &test_transitions,
                &scale,
                &inference,
            )
            .into_scalar();
            gn_test_loss.push(LossPoint {
                step: step + 1,
                loss: test_value,
            });
        }
        progress(step + 1, value);
    }
    let mut optimizer = AdamConfig::new().init();
    for step in 0..config.steps {
        let batch = batches(step);
        let loss = one_step_loss(|s, u| mlp.delta(s, u), &batch, &scale, device);
        let value: f32 = loss.clone().into_scalar();
        if !value.is_finite() {
            return Err(TrainError::Diverged { step, loss: value });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &mlp.model);
        mlp.model = optimizer.step(config.learning_rate(step), mlp.model, grads);
        mlp_loss.push(LossPoint { step, loss: value });
        progress(config.steps + step + 1, value);
    }
    Ok(TrainedModels {
        gn,
        mlp,
        gn_loss,
        gn_test_loss,
        mlp_loss,
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
