//! One control step on batches of states: the graph network, the MLP baseline and the true
//! pendulum ODE in tensor ops.

use super::*;
use learnsim_models::{GnGn, Gns};

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
/// (a, b) = (cos q, sin q) for a hinge and (0, 0) for a rail: no force depends on where the
/// cart stands ([`Cartpole::accelerations`] ignores x), so its position is left out and both
/// models are translation invariant along the rail by construction; and `[B, 1]` u/u_max.
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
            let rate = state
                .clone()
                .narrow(1, 2 * k + 1, 1)
                .div_scalar(scale.state_std[2 * k + 1]);
            let (a, s) = match joint {
                Joint::Revolute => {
                    let q = state.clone().narrow(1, 2 * k, 1);
                    (q.clone().cos(), q.sin())
                }
                Joint::Prismatic => (
                    Tensor::zeros([b, 1], &device),
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

/// The control case's graph network, of either architecture.
// One value per trained model: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ControlGn {
    /// The 2018 paper's GN blocks with graph skip connections.
    GnGn(GnGn),
    /// GNS's encode-process-decode network.
    EncodeProcessDecode(Gns),
}

impl ControlGn {
    /// # Shapes
    /// - `nodes`: `[N, node_in]`, `edges`: `[E, edge_in]`, `senders`/`receivers`: `[E]`
    /// - returns: `[N, node_out]`
    pub fn forward(
        &self,
        nodes: Tensor<2>,
        edges: Tensor<2>,
        senders: Tensor<1, Int>,
        receivers: Tensor<1, Int>,
    ) -> Tensor<2> {
        match self {
            ControlGn::GnGn(m) => m.forward(nodes, edges, senders, receivers),
            ControlGn::EncodeProcessDecode(m) => m.forward(nodes, edges, senders, receivers),
        }
    }
}

/// The graph network model: per sample the world node (fixed) and one node per body, the
/// joints as pairs of directed edges; the action rides on the first joint's edges.
#[derive(Debug, Clone)]
pub struct GnDynamics {
    /// The network.
    pub model: ControlGn,
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
    pub(crate) fn delta(&self, state: Tensor<2>, action: Tensor<2>) -> Tensor<2> {
        gn_delta(&self.model, &self.scale, &self.plant, state, action)
    }
}

/// [`GnDynamics::delta`] of the network `model`.
pub(crate) fn gn_delta(
    model: &ControlGn,
    scale: &PendulumScale,
    plant: &Plant,
    state: Tensor<2>,
    action: Tensor<2>,
) -> Tensor<2> {
    let [b, _] = state.dims();
    let device = state.device();
    let joints = plant.joints();
    let (per_joint, u) = features(state, action, scale, plant);
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
    let out = model.forward(
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
    pub(crate) fn delta(&self, state: Tensor<2>, action: Tensor<2>) -> Tensor<2> {
        mlp_delta(&self.model, &self.scale, &self.plant, state, action)
    }
}

/// [`MlpDynamics::delta`] of the network `model`.
pub(crate) fn mlp_delta(
    model: &Mlp,
    scale: &PendulumScale,
    plant: &Plant,
    state: Tensor<2>,
    action: Tensor<2>,
) -> Tensor<2> {
    let (mut s, u) = features(state, action, scale, plant);
    s.push(u);
    model.forward(Tensor::cat(s, 1))
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
