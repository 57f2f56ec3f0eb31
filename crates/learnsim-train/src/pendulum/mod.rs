//! Graph networks as learnable physics engines for control (Sanchez-Gonzalez et al. 2018), on
//! the torque-driven pendulum and the cartpole: a GN with the world and the bodies as nodes and
//! each joint as a pair of edges (the action on the first joint's), an MLP of equal size,
//! one-step training on random-action episodes, and gradient-based MPC through any
//! differentiable model.
//!
//! - [`plant`]: the systems (pendulum, cartpole), their joints, episodes and scales.
//! - [`models`]: one control step as tensors — the GN, the MLP and the true ODE.
//! - [`training`]: one-step training of both learned models and open-loop errors.
//! - [`mpc`]: gradient-based model-predictive control through any of them.

mod models;
mod mpc;
mod plant;
mod training;

pub use models::{ControlGn, Dynamics, GnDynamics, MlpDynamics, TrueDynamics, parameter_count};
pub use mpc::{ControlEpisode, OpenLoopController, mpc_episode, open_loop_episode};
pub use plant::{Episode, Joint, PendulumScale, Plant, Transition, episodes};
pub use training::{Candidate, TrainedModels, open_loop_error, train_models};

use crate::TrainError;
use crate::host_adam::HostAdam;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_models::{GnGnConfig, GnsConfig, Mlp, MlpConfig};
use learnsim_sim::cartpole::Cartpole;
use learnsim_sim::pendulum::{Pendulum, PendulumState, wrap_angle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Node input width of the GN (see [`PendulumConfig::gn`]).
const NODE_WIDTH: usize = 6;
/// Edge input width of the GN.
const EDGE_WIDTH: usize = 4;

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
    /// Random-action validation episodes (choice of the GN architecture, one-step validation
    /// loss during training).
    pub valid_episodes: usize,
    /// Random-action test episodes (one-step and 20-step errors).
    pub test_episodes: usize,
    /// Steps per episode.
    pub episode_steps: usize,
    /// Initial |θ̇| bound of the random episodes (rad/s).
    pub max_speed: f64,
    /// The GN architectures tried; the one with the lowest open-loop error on the validation
    /// episodes is kept (architecture is a hyperparameter, chosen without the test set).
    pub architectures: Vec<GnArchitecture>,
    /// GN latent width.
    pub latent: usize,
    /// Hidden layers per GN MLP.
    pub n_hidden: usize,
    /// GN message-passing steps: blocks of the GN-GN, processor steps of the encode-process-
    /// decode GN (at least the number of joints, so that the action on the first joint reaches
    /// the last body).
    pub message_passing_steps: usize,
    /// Whether the encode-process-decode GN's encoder and processor MLPs end in LayerNorm
    /// (GNS's choice). The GN-GN has none, as in its paper: with them its pendulum error
    /// was 2.3× higher.
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

/// The graph network's architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GnArchitecture {
    /// GN blocks in sequence, each after the first fed [input graph, previous output]
    /// (Sanchez-Gonzalez et al. 2018, the paper of this case).
    GnGn,
    /// GNS's encoder, residual processor with LayerNorm, and decoder (Sanchez-Gonzalez et
    /// al. 2020).
    EncodeProcessDecode,
}

impl GnArchitecture {
    /// Name in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            GnArchitecture::GnGn => "gn-gn",
            GnArchitecture::EncodeProcessDecode => "encode-process-decode",
        }
    }
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

impl crate::Validate for PendulumConfig {
    fn validate(&self) -> Result<(), crate::FieldError> {
        use crate::{Bound, count_in, learning_rates, real_in, rule};
        let positive = |field: &str, value: f64| real_in(field, value, 0.0, 1e6, Bound::Exclusive);
        let at_least_zero =
            |field: &str, value: f64| real_in(field, value, 0.0, 1e6, Bound::Inclusive);
        let p = &self.pendulum;
        positive("pendulum.mass", p.mass)?;
        positive("pendulum.length", p.length)?;
        positive("pendulum.gravity", p.gravity)?;
        at_least_zero("pendulum.damping", p.damping)?;
        positive("pendulum.max_torque", p.max_torque)?;
        real_in("pendulum.dt", p.dt, 0.0, 1.0, Bound::Exclusive)?;
        let c = &self.cartpole;
        positive("cartpole.cart_mass", c.cart_mass)?;
        positive("cartpole.pole_mass", c.pole_mass)?;
        positive("cartpole.length", c.length)?;
        positive("cartpole.gravity", c.gravity)?;
        at_least_zero("cartpole.cart_damping", c.cart_damping)?;
        at_least_zero("cartpole.pole_damping", c.pole_damping)?;
        positive("cartpole.max_force", c.max_force)?;
        real_in("cartpole.dt", c.dt, 0.0, 1.0, Bound::Exclusive)?;
        count_in("train_episodes", self.train_episodes, 1, 10_000_000)?;
        count_in("valid_episodes", self.valid_episodes, 1, 10_000_000)?;
        count_in("test_episodes", self.test_episodes, 1, 10_000_000)?;
        count_in("episode_steps", self.episode_steps, 2, 1_000_000)?;
        at_least_zero("max_speed", self.max_speed)?;
        if self.architectures.is_empty() {
            return Err(rule(
                "architectures",
                "[]",
                "allowed one or more of \"gn-gn\", \"encode-process-decode\"",
            ));
        }
        count_in("latent", self.latent, 1, 65_536)?;
        count_in("n_hidden", self.n_hidden, 1, 64)?;
        crate::network_memory(
            "latent",
            self.latent,
            2 * self.message_passing_steps + 3,
            self.n_hidden + 1,
            self.latent,
        )?;
        count_in("message_passing_steps", self.message_passing_steps, 1, 256)?;
        count_in("steps", self.steps, 1, 1_000_000_000)?;
        count_in("batch_size", self.batch_size, 1, 1_000_000)?;
        learning_rates(self.lr_initial, self.lr_final)?;
        count_in("validate_every", self.validate_every, 1, usize::MAX)?;
        count_in(
            "rollout_horizon",
            self.rollout_horizon,
            1,
            self.episode_steps - 1,
        )?;
        let m = &self.mpc;
        count_in("mpc.horizon", m.horizon, 1, 100_000)?;
        count_in("mpc.iterations", m.iterations, 1, 1_000_000)?;
        real_in("mpc.lr", m.lr, 0.0, 1e3, Bound::Exclusive)?;
        count_in("mpc.control_steps", m.control_steps, 1, 10_000_000)?;
        real_in(
            "mpc.initial_angle",
            m.initial_angle,
            -std::f64::consts::PI,
            std::f64::consts::PI,
            Bound::Inclusive,
        )?;
        at_least_zero("mpc.speed_weight", m.speed_weight)?;
        at_least_zero("mpc.torque_weight", m.torque_weight)?;
        at_least_zero("mpc.energy_weight", m.energy_weight)?;
        count_in("mpc.upright_steps", m.upright_steps, 1, m.control_steps)?;
        Ok(())
    }
}

impl PendulumConfig {
    /// The GN of `plant`: nodes world and one body per joint with [a, b, q̇/s, fixed,
    /// revolute, prismatic] ((a, b) = (cos q, sin q) for a hinge, (0, 0) for a rail), the
    /// chain of joints as pairs of directed edges with [u/u_max on the actuated joint,
    /// direction, revolute, prismatic], output the normalised (Δq, Δq̇) of each body's joint.
    pub fn gn(&self, architecture: GnArchitecture, plant: &Plant, device: &Device) -> ControlGn {
        let steps = self.message_passing_steps.max(plant.joints().len());
        match architecture {
            GnArchitecture::GnGn => ControlGn::GnGn(
                GnGnConfig::new(NODE_WIDTH, EDGE_WIDTH, 2)
                    .with_latent(self.latent)
                    .with_n_hidden(self.n_hidden)
                    .with_blocks(steps)
                    .init(device),
            ),
            GnArchitecture::EncodeProcessDecode => ControlGn::EncodeProcessDecode(
                GnsConfig::new(NODE_WIDTH, EDGE_WIDTH, 2)
                    .with_latent(self.latent)
                    .with_n_hidden(self.n_hidden)
                    .with_message_passing_steps(steps)
                    .with_layer_norm(self.layer_norm)
                    .init(device),
            ),
        }
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

    /// Adam steps of one plant's training: every GN candidate, then the MLP.
    pub fn total_steps(&self) -> usize {
        (self.architectures.len() + 1) * self.steps
    }

    fn learning_rate(&self, step: usize) -> f64 {
        self.lr_initial
            * (self.lr_final / self.lr_initial).powf(step as f64 / self.steps.max(1) as f64)
    }
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
