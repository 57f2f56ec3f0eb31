//! The rope of Compositional Koopman Operators (Li et al. 2020), without pymunk: point masses
//! joined by damped springs to their neighbours and (at half the stiffness, twice the rest
//! length) to their second neighbours, the top mass sliding on a horizontal groove at y = 1,
//! driven by horizontal impulses on it. Semi-implicit Euler with `substeps` per control step.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Parameters shared by a group of rollouts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RopeParams {
    /// Number of masses.
    pub n: usize,
    /// Neighbour spring stiffness (second-neighbour springs: half).
    pub stiffness: f64,
    /// Gravity (negative: down).
    pub gravity: f64,
}

/// The fixed parts of the recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RopeRecipe {
    /// Mass of each ball.
    pub mass: f64,
    /// Rest spacing of the initial vertical line.
    pub spacing: f64,
    /// Spring rest length over spacing (1.075: the rope starts slightly compressed).
    pub rest_factor: f64,
    /// Stiffness range of a group.
    pub stiffness_range: [f64; 2],
    /// Damping = stiffness / this.
    pub damping_divisor: f64,
    /// Gravity range of a group (both negative).
    pub gravity_range: [f64; 2],
    /// Range of the top mass's initial x.
    pub init_x: f64,
    /// Impulse scale: u = U(−1, 1)·scale − x₀·centre.
    pub action_scale: f64,
    /// Return-to-centre gain of the random actions.
    pub action_centre: f64,
    /// Control step (s).
    pub dt: f64,
    /// Integration substeps per control step.
    pub substeps: usize,
    /// Control steps per rollout.
    pub steps: usize,
}

impl RopeRecipe {
    /// cases.md [11] (d): mass 1, spacing 0.3, rest 1.075×, k ~ U[500, 1500], damping k/20,
    /// g ~ U(−8, −2), x₀ ~ U[−0.6, 0.6], u = 2·U(−1, 1) − x₀, dt 1/50, 10 substeps, 100 steps.
    pub fn standard() -> Self {
        Self {
            mass: 1.0,
            spacing: 0.3,
            rest_factor: 1.075,
            stiffness_range: [500.0, 1500.0],
            damping_divisor: 20.0,
            gravity_range: [-8.0, -2.0],
            init_x: 0.6,
            action_scale: 2.0,
            action_centre: 1.0,
            dt: 1.0 / 50.0,
            substeps: 10,
            steps: 100,
        }
    }

    /// Parameters of a group with `n` masses.
    pub fn group(&self, n: usize, rng: &mut impl Rng) -> RopeParams {
        RopeParams {
            n,
            stiffness: rng.random_range(self.stiffness_range[0]..=self.stiffness_range[1]),
            gravity: rng.random_range(self.gravity_range[0]..=self.gravity_range[1]),
        }
    }

    /// The springs (i, j, rest length, stiffness).
    pub fn springs(&self, p: &RopeParams) -> Vec<(usize, usize, f64, f64)> {
        let rest = self.spacing * self.rest_factor;
        let mut s = Vec::new();
        for i in 0..p.n.saturating_sub(1) {
            s.push((i, i + 1, rest, p.stiffness));
        }
        for i in 0..p.n.saturating_sub(2) {
            s.push((i, i + 2, 2.0 * rest, p.stiffness / 2.0));
        }
        s
    }

    /// One control step: the impulse Δv_x = u/m on the top mass, then `substeps` of
    /// semi-implicit Euler (forces → velocities → positions), the top mass projected back onto
    /// the groove (y = 1, v_y = 0) after each.
    pub fn step(&self, p: &RopeParams, pos: &mut [[f64; 2]], vel: &mut [[f64; 2]], u: f64) {
        vel[0][0] += u / self.mass;
        let h = self.dt / self.substeps as f64;
        let springs = self.springs(p);
        let damping = p.stiffness / self.damping_divisor;
        for _ in 0..self.substeps {
            let mut force = vec![[0.0, self.mass * p.gravity]; p.n];
            for &(i, j, rest, k) in &springs {
                let d = [pos[j][0] - pos[i][0], pos[j][1] - pos[i][1]];
                let len = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-12);
                let e = [d[0] / len, d[1] / len];
                let closing = (vel[j][0] - vel[i][0]) * e[0] + (vel[j][1] - vel[i][1]) * e[1];
                // Both kinds of spring share the damping k/20 of the neighbour springs.
                let f = k * (len - rest) + damping * closing;
                for a in 0..2 {
                    force[i][a] += f * e[a];
                    force[j][a] -= f * e[a];
                }
            }
            for b in 0..p.n {
                for a in 0..2 {
                    vel[b][a] += h * force[b][a] / self.mass;
                    pos[b][a] += h * vel[b][a];
                }
            }
            pos[0][1] = 1.0;
            vel[0][1] = 0.0;
        }
    }

    /// A rollout of group `p` from seed: the balls in a vertical line below (x₀, 1) at rest,
    /// random impulses. Returns `steps + 1` states per ball [x, y, ẋ, ẏ] (velocities as finite
    /// differences of positions over dt, the first frame's zero) and the `steps` actions.
    pub fn rollout(&self, p: &RopeParams, seed: u64) -> RopeRollout {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x0 = rng.random_range(-self.init_x..=self.init_x);
        let mut pos: Vec<[f64; 2]> = (0..p.n)
            .map(|i| [x0, 1.0 - self.spacing * i as f64])
            .collect();
        let mut vel = vec![[0.0; 2]; p.n];
        let frame = |pos: &[[f64; 2]], prev: &[[f64; 2]]| frame(pos, prev, self.dt);
        let mut states = vec![frame(&pos, &pos)];
        let mut actions = Vec::with_capacity(self.steps);
        for _ in 0..self.steps {
            let u =
                rng.random_range(-1.0..=1.0) * self.action_scale - pos[0][0] * self.action_centre;
            let prev = pos.clone();
            self.step(p, &mut pos, &mut vel, u);
            states.push(frame(&pos, &prev));
            actions.push(u);
        }
        RopeRollout {
            params: *p,
            states,
            actions,
        }
    }
}

/// The frame [x, y, ẋ, ẏ] per ball after a step from `prev` to `pos`: velocities are finite
/// differences of positions over `dt`, as in the paper's data.
pub fn frame(pos: &[[f64; 2]], prev: &[[f64; 2]], dt: f64) -> Vec<[f64; 4]> {
    pos.iter()
        .zip(prev)
        .map(|(x, y)| [x[0], x[1], (x[0] - y[0]) / dt, (x[1] - y[1]) / dt])
        .collect()
}

/// One rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeRollout {
    /// The group's parameters.
    pub params: RopeParams,
    /// `steps + 1` frames of `n` balls [x, y, ẋ, ẏ].
    pub states: Vec<Vec<[f64; 4]>>,
    /// Impulses on the top mass.
    pub actions: Vec<f64>,
}

/// A group: one parameter set and its rollouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeGroup {
    /// Shared parameters.
    pub params: RopeParams,
    /// Rollouts.
    pub rollouts: Vec<RopeRollout>,
}

/// `groups` groups of `per_group` rollouts with ball counts drawn from `sizes`, group `g`
/// seeded by `seeds(g)`.
pub fn rope_groups(
    recipe: &RopeRecipe,
    sizes: std::ops::RangeInclusive<usize>,
    groups: usize,
    per_group: usize,
    seeds: impl Fn(usize) -> u64,
) -> Vec<RopeGroup> {
    (0..groups)
        .map(|g| {
            let seed = seeds(g);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = rng.random_range(sizes.clone());
            let params = recipe.group(n, &mut rng);
            let rollouts = (0..per_group)
                .map(|r| {
                    recipe.rollout(
                        &params,
                        seed ^ (r as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    )
                })
                .collect();
            RopeGroup { params, rollouts }
        })
        .collect()
}
