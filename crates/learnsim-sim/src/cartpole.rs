//! A cartpole as an articulated rigid-body system: a cart of mass M on a horizontal rail
//! (prismatic joint to the world, driven by a force) carrying a point mass m on a massless rod
//! of length l (hinge). θ is measured from hanging straight down, as for the pendulum.
//!
//! Lagrangian L = ½(M+m)ẋ² + m·l·ẋ·θ̇·cos θ + ½m·l²·θ̇² + m·g·l·cos θ gives
//!
//! (M+m)·ẍ + m·l·cos θ·θ̈ = F − b_x·ẋ + m·l·sin θ·θ̇²
//! m·l·cos θ·ẍ + m·l²·θ̈ = −m·g·l·sin θ − b_θ·θ̇
//!
//! solved for (ẍ, θ̈) at every RK4 stage, the force held over the step.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Physical parameters and the control step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cartpole {
    /// Cart mass (kg).
    pub cart_mass: f64,
    /// Bob mass (kg).
    pub pole_mass: f64,
    /// Rod length (m).
    pub length: f64,
    /// Gravity (m/s²).
    pub gravity: f64,
    /// Viscous rail friction (N·s/m).
    pub cart_damping: f64,
    /// Viscous hinge friction (N·m·s).
    pub pole_damping: f64,
    /// Largest force magnitude (N); actions are clipped to it.
    pub max_force: f64,
    /// Control step (s).
    pub dt: f64,
}

/// (x, ẋ, θ, θ̇): per joint, coordinate then rate (prismatic first).
pub type CartpoleState = [f64; 4];

impl Cartpole {
    /// 1 kg cart, 0.5 kg bob on 0.6 m, g 9.81, light friction, |F| ≤ 10 N, dt 0.02 s.
    pub fn standard() -> Self {
        Self {
            cart_mass: 1.0,
            pole_mass: 0.5,
            length: 0.6,
            gravity: 9.81,
            cart_damping: 0.1,
            pole_damping: 0.02,
            max_force: 10.0,
            dt: 0.02,
        }
    }

    /// (ẍ, θ̈) at `state` under force `f` (not clipped).
    pub fn accelerations(&self, [_, v, theta, omega]: CartpoleState, f: f64) -> [f64; 2] {
        let (big, m, l) = (self.cart_mass, self.pole_mass, self.length);
        let (s, c) = theta.sin_cos();
        let a = [[big + m, m * l * c], [m * l * c, m * l * l]];
        let b = [
            f - self.cart_damping * v + m * l * s * omega * omega,
            -m * self.gravity * l * s - self.pole_damping * omega,
        ];
        let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
        [
            (b[0] * a[1][1] - a[0][1] * b[1]) / det,
            (a[0][0] * b[1] - a[1][0] * b[0]) / det,
        ]
    }

    /// One RK4 step of `dt` with the force clipped to ±`max_force` and held.
    pub fn step(&self, state: CartpoleState, f: f64) -> CartpoleState {
        let f = f.clamp(-self.max_force, self.max_force);
        let rate = |s: CartpoleState| {
            let [ax, at] = self.accelerations(s, f);
            [s[1], ax, s[3], at]
        };
        let add = |s: CartpoleState, k: [f64; 4], h: f64| [0, 1, 2, 3].map(|i| s[i] + h * k[i]);
        let h = self.dt;
        let k1 = rate(state);
        let k2 = rate(add(state, k1, h / 2.0));
        let k3 = rate(add(state, k2, h / 2.0));
        let k4 = rate(add(state, k3, h));
        [0, 1, 2, 3].map(|i| state[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
    }

    /// Kinetic plus potential energy (zero potential at the hinge height).
    pub fn energy(&self, [_, v, theta, omega]: CartpoleState) -> f64 {
        let (big, m, l) = (self.cart_mass, self.pole_mass, self.length);
        0.5 * (big + m) * v * v + m * l * v * omega * theta.cos() + 0.5 * m * l * l * omega * omega
            - m * self.gravity * l * theta.cos()
    }

    /// Horizontal momentum (M+m)·ẋ + m·l·θ̇·cos θ.
    pub fn momentum(&self, [_, v, theta, omega]: CartpoleState) -> f64 {
        (self.cart_mass + self.pole_mass) * v + self.pole_mass * self.length * omega * theta.cos()
    }

    /// A random-action episode: x₀ uniform in ±1 m, θ₀ on the circle, rates uniform in
    /// ±`max_speed` (θ̇) and ±`max_speed`/4 (ẋ), forces uniform in ±`max_force` held one step.
    pub fn random_episode(
        &self,
        seed: u64,
        steps: usize,
        max_speed: f64,
    ) -> (Vec<CartpoleState>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut state = [
            rng.random_range(-1.0..=1.0),
            rng.random_range(-max_speed / 4.0..=max_speed / 4.0),
            rng.random_range(-std::f64::consts::PI..std::f64::consts::PI),
            rng.random_range(-max_speed..=max_speed),
        ];
        let mut states = vec![state];
        let mut actions = Vec::with_capacity(steps);
        for _ in 0..steps {
            let f = rng.random_range(-self.max_force..=self.max_force);
            state = self.step(state, f);
            states.push(state);
            actions.push(f);
        }
        (states, actions)
    }
}
