//! Graph networks as learnable physics engines for control (Sanchez-Gonzalez et al. 2018), on
//! the torque-driven pendulum: a GN with the world and the pole as nodes and the hinge as a
//! pair of edges carrying the torque, an MLP of about equal size, one-step training on
//! random-action episodes, and gradient-based MPC through any differentiable model.

use crate::TrainError;
use crate::host_adam::HostAdam;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_models::{Gns, GnsConfig, Mlp, MlpConfig};
use learnsim_sim::cartpole::Cartpole;
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
    /// The swung-up system (`[pendulum]` table).
    pub pendulum: Pendulum,
    /// The second system, modelled but not controlled (`[cartpole]` table).
    pub cartpole: Cartpole,
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
    /// GN message-passing steps (at least the number of joints, so that the action on the
    /// first joint reaches the last body).
    pub message_passing_steps: usize,
    /// Whether the GN's encoder and processor MLPs end in LayerNorm (GNS's choice).
    pub layer_norm: bool,
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
    /// The GN of `plant`: nodes world and one body per joint with [a, b, q̇/s, fixed,
    /// revolute, prismatic] ((a, b) = (cos q, sin q) for a hinge, (q/s, 0) for a rail), the
    /// chain of joints as pairs of directed edges with [u/u_max on the actuated joint,
    /// direction, revolute, prismatic], output the normalised (Δq, Δq̇) of each body's joint.
    pub fn gn(&self, plant: &Plant) -> GnsConfig {
        GnsConfig::new(NODE_WIDTH, EDGE_WIDTH, 2)
            .with_latent(self.latent)
            .with_n_hidden(self.n_hidden)
            .with_message_passing_steps(self.message_passing_steps.max(plant.joints().len()))
            .with_layer_norm(self.layer_norm)
    }

    /// The MLP of `plant`: [(a, b, q̇/s) per joint, u/u_max] → 3 × w ReLU → normalised
    /// (Δq, Δq̇) per joint, with w chosen so that its parameter count, 2w² + (i + o + 3)w + o,
    /// is closest to the GN's (`gn_parameters`): a model of equal size.
    pub fn mlp(&self, plant: &Plant, gn_parameters: usize) -> MlpConfig {
        let dof = plant.joints().len();
        let (i, o) = ((3 * dof + 1) as f64, (2 * dof) as f64);
        let (b, c) = (i + o + 3.0, o - gn_parameters as f64);
        let width = ((-b + (b * b - 8.0 * c).sqrt()) / 4.0).round().max(1.0) as usize;
        MlpConfig::new(3 * dof + 1, width, 3, 2 * dof, false)
    }

    fn learning_rate(&self, step: usize) -> f64 {
        self.lr_initial
            * (self.lr_final / self.lr_initial).powf(step as f64 / self.steps.max(1) as f64)
    }
}

/// A joint of an articulated system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joint {
    /// A hinge: the coordinate is an angle, seen through (cos, sin).
    Revolute,
    /// A rail: the coordinate is a length, seen scaled.
    Prismatic,
}

/// The systems of the case, as plants with per-joint state (q₁, q̇₁, q₂, q̇₂, …) and one
/// actuated joint (the first).
#[derive(Debug, Clone, PartialEq)]
pub enum Plant {
    /// Torque on the hinge.
    Pendulum(Pendulum),
    /// Force on the cart's rail; the pole hangs from the cart.
    Cartpole(Cartpole),
}

const NODE_WIDTH: usize = 6;
const EDGE_WIDTH: usize = 4;

impl Plant {
    /// Joints from the world outward.
    pub fn joints(&self) -> &'static [Joint] {
        match self {
            Plant::Pendulum(_) => &[Joint::Revolute],
            Plant::Cartpole(_) => &[Joint::Prismatic, Joint::Revolute],
        }
    }

    /// Name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Plant::Pendulum(_) => "pendulum",
            Plant::Cartpole(_) => "cartpole",
        }
    }

    /// Largest action magnitude.
    pub fn max_action(&self) -> f64 {
        match self {
            Plant::Pendulum(p) => p.max_torque,
            Plant::Cartpole(c) => c.max_force,
        }
    }

    /// One step of the simulator.
    pub fn step(&self, state: &[f64], u: f64) -> Vec<f64> {
        match self {
            Plant::Pendulum(p) => p.step([state[0], state[1]], u).to_vec(),
            Plant::Cartpole(c) => {
                let s = c.step([state[0], state[1], state[2], state[3]], u);
                s.to_vec()
            }
        }
    }

    /// A random-action episode.
    pub fn episode(&self, seed: u64, steps: usize, max_speed: f64) -> Episode {
        let (states, actions) = match self {
            Plant::Pendulum(p) => {
                let (s, a) = p.random_episode(seed, steps, max_speed);
                (s.iter().map(|x| x.to_vec()).collect(), a)
            }
            Plant::Cartpole(c) => {
                let (s, a) = c.random_episode(seed, steps, max_speed);
                (s.iter().map(|x| x.to_vec()).collect(), a)
            }
        };
        Episode { states, actions }
    }
}

/// Scales fitted on the training transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendulumScale {
    /// Standard deviation of each state column (inputs: q of rails, q̇ of every joint).
    pub state_std: Vec<f64>,
    /// Mean of each column's Δ over a step.
    pub delta_mean: Vec<f64>,
    /// Standard deviation of each column's Δ.
    pub delta_std: Vec<f64>,
}

/// One transition (s, u, s′).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// State before.
    pub state: Vec<f64>,
    /// Action held.
    pub torque: f64,
    /// State after.
    pub next: Vec<f64>,
}

/// A random-action episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// `steps + 1` states (q, q̇ per joint).
    pub states: Vec<Vec<f64>>,
    /// `steps` actions.
    pub actions: Vec<f64>,
}

impl Episode {
    fn transitions(&self) -> impl Iterator<Item = Transition> + '_ {
        self.actions.iter().enumerate().map(|(t, &u)| Transition {
            state: self.states[t].clone(),
            torque: u,
            next: self.states[t + 1].clone(),
        })
    }
}

impl PendulumScale {
    fn fit(train: &[Episode]) -> Self {
        let all: Vec<Transition> = train.iter().flat_map(Episode::transitions).collect();
        let n = all.len() as f64;
        let width = all[0].state.len();
        let std_of = |f: &dyn Fn(&Transition) -> f64| {
            let mean = all.iter().map(f).sum::<f64>() / n;
            let var = all.iter().map(|t| (f(t) - mean).powi(2)).sum::<f64>() / n;
            (mean, var.sqrt().max(1e-9))
        };
        let state_std = (0..width).map(|i| std_of(&|t| t.state[i]).1).collect();
        let (delta_mean, delta_std) = (0..width)
            .map(|i| std_of(&|t| t.next[i] - t.state[i]))
            .unzip();
        Self {
            state_std,
            delta_mean,
            delta_std,
        }
    }
}

/// A model of one control step on batches of states.
pub trait Dynamics {
    /// # Shapes
    /// - `state`: `[B, 2·joints]` (q, q̇ per joint), `torque`: `[B, 1]` (the action, within
    ///   the limit)
    /// - returns: `[B, 2·joints]` the states after one step
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

/// Per-joint features shared by both learned models: `[B, 3]` (a, b, q̇/s) for each joint,
/// and `[B, 1]` u/u_max.
fn features(
    state: Tensor<2>,
    action: Tensor<2>,
    scale: &PendulumScale,
    plant: &Plant,
) -> (Vec<Tensor<2>>, Tensor<2>) {
    let [b, _] = state.dims();
    let device = state.device();
    let per_joint = plant
        .joints()
        .iter()
        .enumerate()
        .map(|(k, joint)| {
            let q = state.clone().narrow(1, 2 * k, 1);
            let rate = state
                .clone()
                .narrow(1, 2 * k + 1, 1)
                .div_scalar(scale.state_std[2 * k + 1]);
            let (a, s) = match joint {
                Joint::Revolute => (q.clone().cos(), q.sin()),
                Joint::Prismatic => (
                    q.div_scalar(scale.state_std[2 * k]),
                    Tensor::zeros([b, 1], &device),
                ),
            };
            Tensor::cat(vec![a, s, rate], 1)
        })
        .collect();
    (per_joint, action.div_scalar(plant.max_action()))
}

/// state + denormalised Δ.
fn apply_delta(state: Tensor<2>, delta: Tensor<2>, scale: &PendulumScale) -> Tensor<2> {
    let device = state.device();
    let row = |v: &[f64]| {
        Tensor::<2>::from_data(
            TensorData::new(
                v.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                [1, v.len()],
            ),
            &device,
        )
    };
    state + delta * row(&scale.delta_std) + row(&scale.delta_mean)
}

/// The graph network model: per sample the world node (fixed) and one node per body, the
/// joints as pairs of directed edges; the action rides on the first joint's edges.
#[derive(Debug, Clone)]
pub struct GnDynamics {
    /// The network.
    pub model: Gns,
    /// Scales.
    pub scale: PendulumScale,
    /// The system.
    pub plant: Plant,
}

impl GnDynamics {
    /// Normalised Δ of every joint.
    ///
    /// # Shapes
    /// - `state`: `[B, 2·joints]`, `action`: `[B, 1]`; returns `[B, 2·joints]`
    fn delta(&self, state: Tensor<2>, action: Tensor<2>) -> Tensor<2> {
        let [b, _] = state.dims();
        let device = state.device();
        let joints = self.plant.joints();
        let (per_joint, u) = features(state, action, &self.scale, &self.plant);
        let flags = |joint: Joint| match joint {
            Joint::Revolute => [1.0f32, 0.0],
            Joint::Prismatic => [0.0, 1.0],
        };
        let constant = |v: Vec<f32>| {
            let w = v.len();
            Tensor::<2>::from_data(TensorData::new(v.repeat(b), [b, w]), &device)
        };
        // Node blocks of B rows: world, then body k (its joint's features).
        let mut nodes = vec![constant(vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0])];
        for (k, f) in per_joint.into_iter().enumerate() {
            let [r, p] = flags(joints[k]);
            nodes.push(Tensor::cat(vec![f, constant(vec![0.0, r, p])], 1));
        }
        // Edge blocks: joint k links node k (parent) and k + 1 (child), both ways.
        let (mut edges, mut senders, mut receivers) = (Vec::new(), Vec::new(), Vec::new());
        let zero = Tensor::<2>::zeros([b, 1], &device);
        for (k, &joint) in joints.iter().enumerate() {
            let [r, p] = flags(joint);
            let drive = if k == 0 { u.clone() } else { zero.clone() };
            for (dir, from, to) in [(1.0f32, k, k + 1), (-1.0, k + 1, k)] {
                edges.push(Tensor::cat(
                    vec![
                        drive.clone().mul_scalar(f64::from(dir)),
                        constant(vec![dir, r, p]),
                    ],
                    1,
                ));
                senders.extend((0..b).map(|i| (from * b + i) as i64));
                receivers.extend((0..b).map(|i| (to * b + i) as i64));
            }
        }
        let e = senders.len();
        let index = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [e]), &device);
        let out = self.model.forward(
            Tensor::cat(nodes, 0),
            Tensor::cat(edges, 0),
            index(senders),
            index(receivers),
        );
        let bodies: Vec<Tensor<2>> = (1..=joints.len())
            .map(|k| out.clone().narrow(0, k * b, b))
            .collect();
        Tensor::cat(bodies, 1)
    }
}

impl Dynamics for GnDynamics {
    fn step(&self, state: Tensor<2>, action: Tensor<2>) -> Tensor<2> {
        let delta = self.delta(state.clone(), action);
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
    /// The system.
    pub plant: Plant,
}

impl MlpDynamics {
    fn delta(&self, state: Tensor<2>, action: Tensor<2>) -> Tensor<2> {
        let (mut s, u) = features(state, action, &self.scale, &self.plant);
        s.push(u);
        self.model.forward(Tensor::cat(s, 1))
    }
}

impl Dynamics for MlpDynamics {
    fn step(&self, state: Tensor<2>, action: Tensor<2>) -> Tensor<2> {
        let delta = self.delta(state.clone(), action);
        apply_delta(state, delta, &self.scale)
    }
}

/// Number of trainable scalars of a module.
pub fn parameter_count<M: Module>(module: &M) -> usize {
    module.num_params()
}

/// Random-action episodes of `plant`, episode `i` seeded by `seeds(i)`.
pub fn episodes(
    config: &PendulumConfig,
    plant: &Plant,
    count: usize,
    seeds: impl Fn(usize) -> u64,
) -> Vec<Episode> {
    (0..count)
        .map(|i| plant.episode(seeds(i), config.episode_steps, config.max_speed))
        .collect()
}

fn tensor_rows(rows: &[Vec<f64>], device: &Device) -> Tensor<2> {
    let width = rows[0].len();
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), width]), device)
}

fn tensor2(rows: &[[f64; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.map(|v| v as f32)).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), 2]), device)
}

fn column(values: &[f64], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(flat, [values.len(), 1]), device)
}

fn host_rows(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, width] = t.dims();
    t.into_data()
        .try_to_vec::<f32>()
        .expect("f32 states")
        .chunks(width)
        .map(|c| c.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

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
    let ml2 = p.mass * p.length * p.length;
    let mgl = p.mass * p.gravity * p.length;
    let e_up = 2.0 * mgl;
    for step in 0..m.control_steps {
        let mut adam = HostAdam::new(h);
        for _ in 0..m.iterations {
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
            adam.step(&mut plan, &g, m.lr, |_, x| x.clamp(-1.0, 1.0));
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
