//! A torque-driven pendulum as an articulated rigid body: a point mass on a massless rod,
//! hinged to the world, with viscous joint friction. Lagrangian ODE
//! θ̈ = −(g/l)·sin θ − b·θ̇/(m l²) + u/(m l²), θ measured from hanging straight down,
//! integrated by classical RK4 with the torque held over each step (cases.md [3] B).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Physical parameters and the control step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pendulum {
    /// Bob mass (kg).
    pub mass: f64,
    /// Rod length (m).
    pub length: f64,
    /// Gravity (m/s²).
    pub gravity: f64,
    /// Viscous joint friction (N·m·s).
    pub damping: f64,
    /// Largest torque magnitude (N·m); actions are clipped to it.
    pub max_torque: f64,
    /// Control step (s); one RK4 step per control step.
    pub dt: f64,
}

/// (θ, θ̇): angle from hanging down (rad) and angular velocity (rad/s).
pub type PendulumState = [f64; 2];

impl Pendulum {
    /// The case's pendulum: 1 kg, 1 m, g 9.81, friction 0.05, torque ≤ 4 N·m (under m·g·l, so
    /// swinging up needs pumping), dt 0.02 s.
    pub fn standard() -> Self {
        Self {
            mass: 1.0,
            length: 1.0,
            gravity: 9.81,
            damping: 0.05,
            max_torque: 4.0,
            dt: 0.02,
        }
    }

    /// θ̈ at (θ, θ̇) under torque `u` (not clipped).
    pub fn acceleration(&self, [theta, omega]: PendulumState, u: f64) -> f64 {
        let inertia = self.mass * self.length * self.length;
        -(self.gravity / self.length) * theta.sin() + (u - self.damping * omega) / inertia
    }

    /// One RK4 step of `dt` with the torque clipped to ±`max_torque` and held.
    pub fn step(&self, state: PendulumState, u: f64) -> PendulumState {
        let u = u.clamp(-self.max_torque, self.max_torque);
        let f = |s: PendulumState| [s[1], self.acceleration(s, u)];
        let add = |s: PendulumState, k: [f64; 2], h: f64| [s[0] + h * k[0], s[1] + h * k[1]];
        let h = self.dt;
        let k1 = f(state);
        let k2 = f(add(state, k1, h / 2.0));
        let k3 = f(add(state, k2, h / 2.0));
        let k4 = f(add(state, k3, h));
        [0, 1].map(|i| state[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
    }

    /// Kinetic plus potential energy, zero at rest hanging down.
    pub fn energy(&self, [theta, omega]: PendulumState) -> f64 {
        let ml2 = self.mass * self.length * self.length;
        0.5 * ml2 * omega * omega + self.mass * self.gravity * self.length * (1.0 - theta.cos())
    }

    /// The bob's position relative to the hinge (x right, y up).
    pub fn bob(&self, [theta, _]: PendulumState) -> [f64; 2] {
        [self.length * theta.sin(), -self.length * theta.cos()]
    }

    /// A random-action episode for training data: θ₀ uniform on the circle, θ̇₀ uniform in
    /// ±`max_speed`, torques uniform in ±`max_torque`, each held one step. Returns the
    /// `steps + 1` states and the `steps` actions.
    pub fn random_episode(
        &self,
        seed: u64,
        steps: usize,
        max_speed: f64,
    ) -> (Vec<PendulumState>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut state = [
            rng.random_range(-std::f64::consts::PI..std::f64::consts::PI),
            rng.random_range(-max_speed..=max_speed),
        ];
        let mut states = vec![state];
        let mut actions = Vec::with_capacity(steps);
        for _ in 0..steps {
            let u = rng.random_range(-self.max_torque..=self.max_torque);
            state = self.step(state, u);
            states.push(state);
            actions.push(u);
        }
        (states, actions)
    }
}

/// θ wrapped into (−π, π].
pub fn wrap_angle(theta: f64) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    let t = theta.rem_euclid(two_pi);
    if t > std::f64::consts::PI {
        t - two_pi
    } else {
        t
    }
}
