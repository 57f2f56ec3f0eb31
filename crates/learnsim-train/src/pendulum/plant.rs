//! The articulated systems of the control case as plants: joints, simulator steps, random-action
//! episodes and the scales fitted on them.

use super::*;

/// A joint of an articulated system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joint {
    /// A hinge: the coordinate is an angle, seen through (cos, sin).
    Revolute,
    /// A rail: the coordinate is a length, which no force depends on.
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
    /// Standard deviation of each state column (the models see the q̇ columns).
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
    pub(crate) fn transitions(&self) -> impl Iterator<Item = Transition> + '_ {
        self.actions.iter().enumerate().map(|(t, &u)| Transition {
            state: self.states[t].clone(),
            torque: u,
            next: self.states[t + 1].clone(),
        })
    }
}

impl PendulumScale {
    pub(crate) fn fit(train: &[Episode]) -> Self {
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
