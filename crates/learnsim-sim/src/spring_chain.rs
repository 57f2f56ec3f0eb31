//! Mass–spring chain of DeepMind's graph_nets physics demo (Sanchez-Gonzalez et al. 2018,
//! `../shared/cases.md` [3] (d) A): unit masses on a horizontal line, the two end masses fixed,
//! Hooke springs between neighbours with rest lengths equal to the (noisy) initial distances,
//! gravity, semi-implicit Euler `v += F dt; x += v dt`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The demo's constants and noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainConfig {
    /// Spring constant before noise (N/m).
    pub stiffness: f64,
    /// Half-width of the uniform noise on each spring constant.
    pub stiffness_noise: f64,
    /// Gravity's y component before noise (m/s², negative is down).
    pub gravity: f64,
    /// Half-width of the uniform noise on gravity's y component.
    pub gravity_noise: f64,
    /// Half-width of the uniform noise on each initial x and y.
    pub position_noise: f64,
    /// Integration step (s); one stored frame per step.
    pub dt: f64,
}

impl Default for ChainConfig {
    /// k = 50 ± 5, g = −10 ± 1, positions ± 0.04, dt = 0.1 (the demo).
    fn default() -> Self {
        Self {
            stiffness: 50.0,
            stiffness_noise: 5.0,
            gravity: -10.0,
            gravity_noise: 1.0,
            position_noise: 0.04,
            dt: 0.1,
        }
    }
}

/// One chain: its parameters and its current state. Masses are 1 kg.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Whether each mass is fixed in place `[N]`.
    pub fixed: Vec<bool>,
    /// Spring constant of the spring between masses i and i + 1 `[N − 1]`.
    pub stiffness: Vec<f64>,
    /// Rest length of the spring between masses i and i + 1 `[N − 1]`.
    pub rest_length: Vec<f64>,
    /// Gravity's y component.
    pub gravity: f64,
    /// Positions `[N]`.
    pub position: Vec<[f64; 2]>,
    /// Velocities `[N]`.
    pub velocity: Vec<[f64; 2]>,
}

impl Chain {
    /// Number of masses.
    pub fn len(&self) -> usize {
        self.position.len()
    }

    /// Whether the chain has no masses.
    pub fn is_empty(&self) -> bool {
        self.position.is_empty()
    }

    /// Force on every mass: Hooke springs F = −k (|d| − L) d / |d| on each end (equal and
    /// opposite) plus gravity; zero on fixed masses.
    pub fn forces(&self) -> Vec<[f64; 2]> {
        let mut f: Vec<[f64; 2]> = vec![[0.0, self.gravity]; self.len()];
        for s in 0..self.len().saturating_sub(1) {
            let d = [
                self.position[s + 1][0] - self.position[s][0],
                self.position[s + 1][1] - self.position[s][1],
            ];
            let r = d[0].hypot(d[1]).max(1e-12);
            let scale = self.stiffness[s] * (r - self.rest_length[s]) / r;
            for k in 0..2 {
                f[s][k] += scale * d[k];
                f[s + 1][k] -= scale * d[k];
            }
        }
        for (force, &fixed) in f.iter_mut().zip(&self.fixed) {
            if fixed {
                *force = [0.0; 2];
            }
        }
        f
    }

    /// Total energy: kinetic + spring + gravitational (unit masses, U_g = −g y).
    pub fn energy(&self) -> f64 {
        let kinetic: f64 = self
            .velocity
            .iter()
            .map(|v| 0.5 * (v[0] * v[0] + v[1] * v[1]))
            .sum();
        let springs: f64 = (0..self.len().saturating_sub(1))
            .map(|s| {
                let r = (self.position[s + 1][0] - self.position[s][0])
                    .hypot(self.position[s + 1][1] - self.position[s][1]);
                0.5 * self.stiffness[s] * (r - self.rest_length[s]).powi(2)
            })
            .sum();
        let gravity: f64 = self
            .position
            .iter()
            .zip(&self.fixed)
            .filter(|(_, fixed)| !**fixed)
            .map(|(p, _)| -self.gravity * p[1])
            .sum();
        kinetic + springs + gravity
    }

    /// One semi-implicit Euler step of length `dt`.
    pub fn step(&mut self, dt: f64) {
        let f = self.forces();
        for ((x, v), f) in self.position.iter_mut().zip(&mut self.velocity).zip(&f) {
            for k in 0..2 {
                v[k] += f[k] * dt;
                x[k] += v[k] * dt;
            }
        }
    }
}

/// A stored chain trajectory: the parameters and one state per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainTrajectory {
    /// Parameters and the initial state.
    pub initial: Chain,
    /// Positions `[T][N]`.
    pub position: Vec<Vec<[f64; 2]>>,
    /// Velocities `[T][N]`.
    pub velocity: Vec<Vec<[f64; 2]>>,
    /// Time between frames.
    pub dt: f64,
}

impl ChainTrajectory {
    /// The chain at frame `t`.
    pub fn state(&self, t: usize) -> Chain {
        Chain {
            position: self.position[t].clone(),
            velocity: self.velocity[t].clone(),
            ..self.initial.clone()
        }
    }

    /// Number of stored frames.
    pub fn n_frames(&self) -> usize {
        self.position.len()
    }
}

impl ChainConfig {
    /// A random chain of `n ≥ 2` masses: spacing `spacing` or U[0.2, 1.0], then the noise of
    /// the demo on positions, spring constants and gravity; rest lengths are the noisy initial
    /// distances, so the chain starts unstretched and at rest, and gravity sets it swinging.
    pub fn random_chain(&self, n: usize, spacing: Option<f64>, rng: &mut impl Rng) -> Chain {
        assert!(n >= 2, "a chain needs at least two masses");
        let d = spacing.unwrap_or_else(|| rng.random_range(0.2..1.0));
        let mut jitter = |h: f64| {
            if h > 0.0 {
                rng.random_range(-h..h)
            } else {
                0.0
            }
        };
        let position: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                [
                    i as f64 * d + jitter(self.position_noise),
                    jitter(self.position_noise),
                ]
            })
            .collect();
        let stiffness = (0..n - 1)
            .map(|_| self.stiffness + jitter(self.stiffness_noise))
            .collect();
        let gravity = self.gravity + jitter(self.gravity_noise);
        let rest_length = position
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
            .collect();
        Chain {
            fixed: (0..n).map(|i| i == 0 || i == n - 1).collect(),
            stiffness,
            rest_length,
            gravity,
            position,
            velocity: vec![[0.0; 2]; n],
        }
    }

    /// `frames` stored frames (frame 0 the initial state) of a random `n`-mass chain from
    /// `seed`.
    pub fn simulate(
        &self,
        n: usize,
        spacing: Option<f64>,
        frames: usize,
        seed: u64,
    ) -> ChainTrajectory {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut chain = self.random_chain(n, spacing, &mut rng);
        let initial = chain.clone();
        let (mut position, mut velocity) = (Vec::new(), Vec::new());
        for t in 0..frames {
            if t > 0 {
                chain.step(self.dt);
            }
            position.push(chain.position.clone());
            velocity.push(chain.velocity.clone());
        }
        ChainTrajectory {
            initial,
            position,
            velocity,
            dt: self.dt,
        }
    }
}
