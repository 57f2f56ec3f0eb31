//! Graph networks as learnable physics engines for control (Sanchez-Gonzalez et al. 2018), on
//! the torque-driven pendulum: a GN with the world and the pole as nodes and the hinge as a
//! pair of edges carrying the torque, an MLP of about equal size, one-step training on
//! random-action episodes, and gradient-based MPC through any differentiable model.

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_models::{Gns, GnsConfig, Mlp, MlpConfig};
use learnsim_sim::pendulum::{Pendulum, PendulumState, wrap_angle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The `pendulum-mpc` case's configuration (`configs/pendulum-mpc.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendulumConfig {
    /// Seed of the episodes, initialisation, batches and control.
    pub seed: u64,
    /// The system (`[pendulum]` table).
    pub pendulum: Pendulum,
    /// Random-action training episodes.
    pub train_episodes: usize,
    /// Random-action test episodes (one-step and 20-step errors).
    pub test_episodes: usize,
    /// Steps per episode.
    pub episode_steps: usize,
    /// Initial |θ̇| bound of the random episodes (rad/s).
    pub max_speed: f64,
    /// GN latent width.
    pub latent: usize,
    /// Hidden layers per GN MLP.
    pub n_hidden: usize,
    /// GN message-passing steps.
    pub message_passing_steps: usize,
    /// Whether the GN's encoder and processor MLPs end in LayerNorm (GNS's choice).
    pub layer_norm: bool,
    /// Hidden width of the MLP baseline (3 hidden layers; chosen to match the GN's size).
    pub mlp_hidden: usize,
    /// Adam steps per model.
    pub steps: usize,
    /// Transitions per step.
    pub batch_size: usize,
    /// Learning rate at step 0.
    pub lr_initial: f64,
    /// Learning rate at the last step (geometric in between).
    pub lr_final: f64,
    /// Test loss every this many steps.
    pub validate_every: usize,
    /// Steps of the open-loop error.
    pub rollout_horizon: usize,
    /// Model-predictive control (`[mpc]` table).
    pub mpc: MpcConfig,
}

/// Gradient-based MPC: plan `horizon` torques by Adam through the model, apply the first,
/// shift the plan, repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MpcConfig {
    /// Planned steps.
    pub horizon: usize,
    /// Adam iterations per control step.
    pub iterations: usize,
    /// Adam learning rate on the normalised torques u/u_max, which are clamped to [−1, 1]
    /// after every step (projected Adam; a tanh squashing saturates and stalls the plan).
    pub lr: f64,
    /// Control steps of the episode.
    pub control_steps: usize,
    /// Initial angle from hanging down (rad; nonzero breaks the symmetry).
    pub initial_angle: f64,
    /// Weight of θ̇² in the stage cost.
    pub speed_weight: f64,
    /// Weight of (u/u_max)² in the stage cost.
    pub torque_weight: f64,
    /// Weight of ((E − E_up)/E_up)² in the stage cost, E the model-predicted energy and E_up
    /// that of resting upright: a horizon of 0.6 s is too short to see that pumping pays,
    /// and without this term the plan parks at the torque-limited equilibrium.
    pub energy_weight: f64,
    /// Steps at the end that must be upright.
    pub upright_steps: usize,
}

impl PendulumConfig {
    /// The GN: node input [cos θ, sin θ, θ̇/s, fixed], edge input [u/u_max, direction],
    /// output [Δθ, Δθ̇] normalised (read at the pole node).
    pub fn gn(&self) -> GnsConfig {
        GnsConfig::new(4, 2, 2)
            .with_latent(self.latent)
            .with_n_hidden(self.n_hidden)
            .with_message_passing_steps(self.message_passing_steps)
            .with_layer_norm(self.layer_norm)
    }

    /// The MLP: [cos θ, sin θ, θ̇/s, u/u_max] → 3 × `mlp_hidden` ReLU → [Δθ, Δθ̇] normalised.
    pub fn mlp(&self) -> MlpConfig {
        MlpConfig::new(4, self.mlp_hidden, 3, 2, false)
    }

    fn learning_rate(&self, step: usize) -> f64 {
        self.lr_initial
            * (self.lr_final / self.lr_initial).powf(step as f64 / self.steps.max(1) as f64)
    }
}

/// Scales fitted on the training transitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PendulumScale {
    /// Standard deviation of θ̇ (input scale).
    pub speed_std: f64,
    /// Mean of (Δθ, Δθ̇).
    pub delta_mean: [f64; 2],
    /// Standard deviation of (Δθ, Δθ̇).
    pub delta_std: [f64; 2],
}

/// One transition (s, u, s′).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// State before.
    pub state: PendulumState,
    /// Torque held.
    pub torque: f64,
    /// State after.
    pub next: PendulumState,
}

/// A random-action episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// `steps + 1` states.
    pub states: Vec<PendulumState>,
    /// `steps` torques.
    pub actions: Vec<f64>,
}

impl Episode {
    fn transitions(&self) -> impl Iterator<Item = Transition> + '_ {
        self.actions.iter().enumerate().map(|(t, &u)| Transition {
            state: self.states[t],
            torque: u,
            next: self.states[t + 1],
        })
    }
}

impl PendulumScale {
    fn fit(train: &[Episode]) -> Self {
        let all: Vec<Transition> = train.iter().flat_map(Episode::transitions).collect();
        let n = all.len() as f64;
        let speed_std = (all.iter().map(|t| t.state[1].powi(2)).sum::<f64>() / n).sqrt();
        let delta = |t: &Transition, i: usize| t.next[i] - t.state[i];
        let mean = [0, 1].map(|i| all.iter().map(|t| delta(t, i)).sum::<f64>() / n);
        let std = [0, 1].map(|i| {
            (all.iter()
                .map(|t| (delta(t, i) - mean[i]).powi(2))
                .sum::<f64>()
                / n)
                .sqrt()
                .max(1e-9)
        });
        Self {
            speed_std: speed_std.max(1e-9),
            delta_mean: mean,
            delta_std: std,
        }
    }
}

/// A model of one control step on batches of states.
pub trait Dynamics {
    /// # Shapes
    /// - `state`: `[B, 2]` (θ, θ̇), `torque`: `[B, 1]` (N·m, already within the limit)
    /// - returns: `[B, 2]` the states after one step
    fn step(&self, state: Tensor<2>, torque: Tensor<2>) -> Tensor<2>;
}

/// The true ODE in tensor ops (RK4, as [`Pendulum::step`]), for MPC through the simulator.
#[derive(Debug, Clone)]
pub struct TrueDynamics(pub Pendulum);

impl Dynamics for TrueDynamics {
    fn step(&self, state: Tensor<2>, torque: Tensor<2>) -> Tensor<2> {
        let p = &self.0;
        let inertia = p.mass * p.length * p.length;
        let drive = torque.div_scalar(inertia);
        let f = |s: Tensor<2>| {
            let theta = s.clone().narrow(1, 0, 1);
            let omega = s.narrow(1, 1, 1);
            let acc = theta.sin().mul_scalar(-p.gravity / p.length)
                - omega.clone().mul_scalar(p.damping / inertia)
                + drive.clone();
            Tensor::cat(vec![omega, acc], 1)
        };
        let h = p.dt;
        let k1 = f(state.clone());
        let k2 = f(state.clone() + k1.clone().mul_scalar(h / 2.0));
        let k3 = f(state.clone() + k2.clone().mul_scalar(h / 2.0));
        let k4 = f(state.clone() + k3.clone().mul_scalar(h));
        state + (k1 + k2.mul_scalar(2.0) + k3.mul_scalar(2.0) + k4).mul_scalar(h / 6.0)
    }
}

/// Features shared by both learned models: ([B, 3] cos θ, sin θ, θ̇/s; [B, 1] u/u_max).
fn features(
    state: Tensor<2>,
    torque: Tensor<2>,
    scale: &PendulumScale,
    max_torque: f64,
) -> (Tensor<2>, Tensor<2>) {
    let theta = state.clone().narrow(1, 0, 1);
    let omega = state.narrow(1, 1, 1).div_scalar(scale.speed_std);
    (
        Tensor::cat(vec![theta.clone().cos(), theta.sin(), omega], 1),
        torque.div_scalar(max_torque),
    )
}

/// state + denormalised Δ.
fn apply_delta(state: Tensor<2>, delta: Tensor<2>, scale: &PendulumScale) -> Tensor<2> {
    let device = state.device();
    let std = Tensor::<2>::from_data(
        TensorData::new(scale.delta_std.map(|v| v as f32).to_vec(), [1, 2]),
        &device,
    );
    let mean = Tensor::<2>::from_data(
        TensorData::new(scale.delta_mean.map(|v| v as f32).to_vec(), [1, 2]),
        &device,
    );
    state + delta * std + mean
}

/// The graph network model: per sample the world node (fixed) and the pole node, joined by
/// the hinge as two directed edges carrying ±u/u_max and the direction.
#[derive(Debug, Clone)]
pub struct GnDynamics {
    /// The network.
    pub model: Gns,
    /// Scales.
    pub scale: PendulumScale,
    /// Torque limit (input scale).
    pub max_torque: f64,
}

impl GnDynamics {
    /// Normalised Δ at the pole nodes.
    ///
    /// # Shapes
    /// - `state`: `[B, 2]`, `torque`: `[B, 1]`; returns `[B, 2]`
    fn delta(&self, state: Tensor<2>, torque: Tensor<2>) -> Tensor<2> {
        let [b, _] = state.dims();
        let device = state.device();
        let (pole, u) = features(state, torque, &self.scale, self.max_torque);
        let pole = Tensor::cat(vec![pole, Tensor::zeros([b, 1], &device)], 1);
        let world = Tensor::<2>::from_data(
            TensorData::new([0.0f32, 0.0, 0.0, 1.0].repeat(b), [b, 4]),
            &device,
        );
        let nodes = Tensor::cat(vec![world, pole], 0);
        let ones = Tensor::<2>::ones([b, 1], &device);
        let edges = Tensor::cat(
            vec![
                Tensor::cat(vec![u.clone(), ones.clone()], 1),
                Tensor::cat(vec![-u, -ones], 1),
            ],
            0,
        );
        let b64 = b as i64;
        let senders: Vec<i64> = (0..b64).chain(b64..2 * b64).collect();
        let receivers: Vec<i64> = (b64..2 * b64).chain(0..b64).collect();
        let index = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [2 * b]), &device);
        self.model
            .forward(nodes, edges, index(senders), index(receivers))
            .narrow(0, b, b)
    }
}

impl Dynamics for GnDynamics {
    fn step(&self, state: Tensor<2>, torque: Tensor<2>) -> Tensor<2> {
        let delta = self.delta(state.clone(), torque);
        apply_delta(state, delta, &self.scale)
    }
}

/// The MLP baseline model.
#[derive(Debug, Clone)]
pub struct MlpDynamics {
    /// The network.
    pub model: Mlp,
    /// Scales.
    pub scale: PendulumScale,
    /// Torque limit (input scale).
    pub max_torque: f64,
}

impl MlpDynamics {
    fn delta(&self, state: Tensor<2>, torque: Tensor<2>) -> Tensor<2> {
        let (s, u) = features(state, torque, &self.scale, self.max_torque);
        self.model.forward(Tensor::cat(vec![s, u], 1))
    }
}

impl Dynamics for MlpDynamics {
    fn step(&self, state: Tensor<2>, torque: Tensor<2>) -> Tensor<2> {
        let delta = self.delta(state.clone(), torque);
        apply_delta(state, delta, &self.scale)
    }
}

/// Number of trainable scalars of a module.
pub fn parameter_count<M: Module>(module: &M) -> usize {
    module.num_params()
}

/// Random-action episodes, episode `i` seeded by `seeds(i)`.
pub fn episodes(
    config: &PendulumConfig,
    count: usize,
    seeds: impl Fn(usize) -> u64,
) -> Vec<Episode> {
    (0..count)
        .map(|i| {
            let (states, actions) =
                config
                    .pendulum
                    .random_episode(seeds(i), config.episode_steps, config.max_speed);
            Episode { states, actions }
        })
        .collect()
}

fn tensor2(rows: &[[f64; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.map(|v| v as f32)).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), 2]), device)
}

fn column(values: &[f64], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(flat, [values.len(), 1]), device)
}

fn rows2(t: Tensor<2>) -> Vec<[f64; 2]> {
    t.into_data()
        .try_to_vec::<f32>()
        .expect("f32 states")
        .chunks(2)
        .map(|c| [f64::from(c[0]), f64::from(c[1])])
        .collect()
}

/// The one-step loss on normalised deltas of a batch of transitions.
fn one_step_loss(
    delta: impl Fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
    batch: &[Transition],
    scale: &PendulumScale,
    device: &Device,
) -> Tensor<1> {
    let states: Vec<[f64; 2]> = batch.iter().map(|t| t.state).collect();
    let torques: Vec<f64> = batch.iter().map(|t| t.torque).collect();
    let targets: Vec<[f64; 2]> = batch
        .iter()
        .map(|t| {
            [0, 1].map(|i| (t.next[i] - t.state[i] - scale.delta_mean[i]) / scale.delta_std[i])
        })
        .collect();
    let diff =
        delta(tensor2(&states, device), column(&torques, device)) - tensor2(&targets, device);
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
    let max_torque = config.pendulum.max_torque;
    let gn_config = config.gn();
    let mut gn = GnDynamics {
        model: seeded_init(device, config.seed, || gn_config.init(device)),
        scale,
        max_torque,
    };
    let mlp_config = config.mlp();
    let mut mlp = MlpDynamics {
        model: seeded_init(device, config.seed ^ 1, || mlp_config.init(device)),
        scale,
        max_torque,
    };
    let batches = |step: usize| -> Vec<Transition> {
        let mut rng =
            ChaCha8Rng::seed_from_u64(config.seed ^ (step as u64).wrapping_mul(0x9E37_79B9));
        (0..config.batch_size)
            .map(|_| transitions[rng.random_range(0..transitions.len())])
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
/// recorded torques are replayed through the model for `horizon` steps; returns the mean
/// over windows of (wrapped Δθ)² + (Δθ̇)² at each step 1..=horizon.
pub fn open_loop_error(
    model: &impl Dynamics,
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
    let mut state = tensor2(
        &starts
            .iter()
            .map(|&(e, t)| episodes[e].states[t])
            .collect::<Vec<_>>(),
        device,
    );
    let mut errors = Vec::with_capacity(horizon);
    for k in 0..horizon {
        let torques: Vec<f64> = starts
            .iter()
            .map(|&(e, t)| episodes[e].actions[t + k])
            .collect();
        state = model.step(state, column(&torques, device));
        let predicted = rows2(state.clone());
        let sum: f64 = starts
            .iter()
            .zip(&predicted)
            .map(|(&(e, t), p)| {
                let truth = episodes[e].states[t + k + 1];
                wrap_angle(p[0] - truth[0]).powi(2) + (p[1] - truth[1]).powi(2)
            })
            .sum();
        errors.push(sum / starts.len().max(1) as f64);
    }
    errors
}

/// A closed-loop MPC episode on the true pendulum.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlEpisode {
    /// `control_steps + 1` true states.
    pub states: Vec<PendulumState>,
    /// Applied torques.
    pub torques: Vec<f64>,
    /// Σ_t (1 − cos θ_t)/2 over the states after each step (1 per step upright, 0 hanging).
    pub control_return: f64,
    /// Largest |θ − π| (wrapped) over the last `upright_steps` states.
    pub final_upright_error: f64,
}

/// Runs MPC with `model` as the planner's dynamics and the true pendulum as the plant.
/// `device` must be an autodiff device. `progress(step)` after each control step.
pub fn mpc_episode(
    model: &impl Dynamics,
    config: &PendulumConfig,
    device: &Device,
    progress: &mut dyn FnMut(usize),
) -> ControlEpisode {
    let m = &config.mpc;
    let p = &config.pendulum;
    let h = m.horizon.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x3C7A);
    // The plan in units of u_max. A small random start breaks the symmetry.
    let mut plan: Vec<f64> = (0..h).map(|_| rng.random_range(-0.1..0.1)).collect();
    let mut state = [m.initial_angle, 0.0];
    let mut states = vec![state];
    let mut torques = Vec::with_capacity(m.control_steps);
    let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8f64);
    let ml2 = p.mass * p.length * p.length;
    let mgl = p.mass * p.gravity * p.length;
    let e_up = 2.0 * mgl;
    for step in 0..m.control_steps {
        let (mut first, mut second) = (vec![0.0; h], vec![0.0; h]);
        for it in 0..m.iterations {
            let a = Tensor::<2>::from_data(
                TensorData::new(plan.iter().map(|&v| v as f32).collect::<Vec<_>>(), [1, h]),
                device,
            )
            .require_grad();
            let u = a.clone().mul_scalar(p.max_torque);
            let mut s = tensor2(&[state], device);
            let mut cost = Tensor::<2>::zeros([1, 1], device);
            for k in 0..h {
                let uk = u.clone().narrow(1, k, 1);
                s = model.step(s, uk.clone());
                let theta = s.clone().narrow(1, 0, 1);
                let omega = s.clone().narrow(1, 1, 1);
                // Upright is θ = π: 1 + cos θ is 0 there and 2 hanging down.
                // E − E_up = ½ml²θ̇² + mgl(1 − cos θ) − 2mgl = ½ml²θ̇² − mgl·cos θ − mgl.
                cost = cost
                    + theta.clone().cos().add_scalar(1.0)
                    + (omega.clone() * omega.clone()).mul_scalar(m.speed_weight)
                    + (uk.clone() * uk).mul_scalar(m.torque_weight / (p.max_torque * p.max_torque))
                    + {
                        let gap = (omega.clone() * omega).mul_scalar(0.5 * ml2)
                            - theta.cos().mul_scalar(mgl).add_scalar(mgl);
                        (gap.clone() * gap).mul_scalar(m.energy_weight / (e_up * e_up))
                    };
            }
            let grads = cost.sum().backward();
            let g = a
                .grad(&grads)
                .expect("the plan tracks gradients on an autodiff device")
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 gradient");
            let t = (it + 1) as i32;
            for i in 0..h {
                let gi = f64::from(g[i]);
                first[i] = beta1 * first[i] + (1.0 - beta1) * gi;
                second[i] = beta2 * second[i] + (1.0 - beta2) * gi * gi;
                plan[i] = (plan[i]
                    - m.lr * (first[i] / (1.0 - beta1.powi(t)))
                        / ((second[i] / (1.0 - beta2.powi(t))).sqrt() + eps))
                    .clamp(-1.0, 1.0);
            }
        }
        let torque = p.max_torque * plan[0];
        state = p.step(state, torque);
        states.push(state);
        torques.push(torque);
        // Warm start: the rest of the plan, its last torque repeated.
        plan.rotate_left(1);
        if h > 1 {
            plan[h - 1] = plan[h - 2];
        }
        progress(step + 1);
    }
    let control_return = states[1..].iter().map(|s| (1.0 - s[0].cos()) / 2.0).sum();
    let tail = m.upright_steps.min(states.len());
    let final_upright_error = states[states.len() - tail..]
        .iter()
        .map(|s| wrap_angle(s[0] - std::f64::consts::PI).abs())
        .fold(0.0, f64::max);
    ControlEpisode {
        states,
        torques,
        control_return,
        final_upright_error,
    }
}
