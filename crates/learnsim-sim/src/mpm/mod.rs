//! 2D moving-least-squares material point method (Hu et al. 2018, "A moving least squares
//! material point method with displacement discontinuity and two-way rigid body coupling"),
//! with APIC transfers and quadratic B-spline weights, as in Taichi's mpm88/mpm99.

mod drucker_prager;
mod material;
mod plastic_neo_hookean;
mod water_eos;

pub use drucker_prager::DruckerPrager;
pub use material::{Material, WallFriction};
pub use plastic_neo_hookean::PlasticNeoHookean;
pub use water_eos::WaterEos;

use crate::SimError;
use crate::mat2::{IDENTITY, Mat2};
use learnsim_core::{ParticleKind, ParticleState, Stepper};

/// Parameters of an MPM simulation. Units: metres, seconds, unit density.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MpmConfig {
    /// Grid cells per unit length over the domain [0, 1]².
    pub n_grid: usize,
    /// Substep.
    pub dt: f64,
    /// Substeps per stored frame.
    pub substeps_per_frame: usize,
    /// Downward gravity.
    pub gravity: f64,
    /// Walls at `wall_lower` and `wall_upper` on both axes.
    pub wall_lower: f64,
    /// Upper wall position.
    pub wall_upper: f64,
    /// The material of every particle.
    pub material: Material,
}

impl MpmConfig {
    /// The flagship recipe: 128² grid, dt = 1e-4, 25 substeps per frame of 2.5e-3, g = 9.8,
    /// walls at 0.1 and 0.9.
    pub fn flagship(material: Material) -> Self {
        Self {
            n_grid: 128,
            dt: 1e-4,
            substeps_per_frame: 25,
            gravity: 9.8,
            wall_lower: 0.1,
            wall_upper: 0.9,
            material,
        }
    }

    /// Grid spacing.
    pub fn dx(&self) -> f64 {
        1.0 / self.n_grid as f64
    }

    /// Initial particle spacing: 2 × 2 particles per cell.
    pub fn particle_spacing(&self) -> f64 {
        0.5 * self.dx()
    }

    /// Time between stored frames.
    pub fn frame_dt(&self) -> f64 {
        self.dt * self.substeps_per_frame as f64
    }

    /// Builds the solver with its grid buffers.
    pub fn init(self) -> Mpm {
        let n_nodes = (self.n_grid + 1) * (self.n_grid + 1);
        Mpm {
            config: self,
            grid_mass: vec![0.0; n_nodes],
            grid_momentum: vec![[0.0; 2]; n_nodes],
        }
    }
}

/// One material point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MpmParticle {
    /// Position.
    pub position: [f64; 2],
    /// Velocity.
    pub velocity: [f64; 2],
    /// APIC affine velocity field C (an estimate of ∇v).
    pub affine: Mat2,
    /// Deformation gradient F (sand and goop).
    pub deformation: Mat2,
    /// Volume ratio J (water).
    pub volume_ratio: f64,
    /// Drucker–Prager volume correction (sand).
    pub log_volume_correction: f64,
}

impl MpmParticle {
    /// An undeformed particle.
    pub fn new(position: [f64; 2], velocity: [f64; 2]) -> Self {
        Self {
            position,
            velocity,
            affine: [[0.0; 2]; 2],
            deformation: IDENTITY,
            volume_ratio: 1.0,
            log_volume_correction: 0.0,
        }
    }
}

/// The particles of an MPM simulation: plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct MpmState {
    /// All material points.
    pub particles: Vec<MpmParticle>,
    /// Substeps taken so far.
    pub substep: usize,
}

impl MpmState {
    /// Undeformed particles with the given positions and velocities.
    pub fn new(state: &ParticleState<2>) -> Self {
        Self {
            particles: state
                .position
                .iter()
                .zip(&state.velocity)
                .map(|(&x, &v)| MpmParticle::new(x, v))
                .collect(),
            substep: 0,
        }
    }

    /// Positions and velocities as a [`ParticleState`] of the given kind.
    pub fn to_particle_state(&self, kind: ParticleKind) -> ParticleState<2> {
        ParticleState {
            position: self.particles.iter().map(|p| p.position).collect(),
            velocity: self.particles.iter().map(|p| p.velocity).collect(),
            kind: vec![kind; self.particles.len()],
        }
    }
}

/// The MLS-MPM solver: parameters plus grid scratch space.
#[derive(Debug, Clone)]
pub struct Mpm {
    config: MpmConfig,
    grid_mass: Vec<f64>,
    grid_momentum: Vec<[f64; 2]>,
}

/// Quadratic B-spline stencil of a particle: base node and weights per axis.
fn stencil(position: [f64; 2], inv_dx: f64) -> ([usize; 2], [f64; 2], [[f64; 3]; 2]) {
    let mut base = [0usize; 2];
    let mut fx = [0.0; 2];
    let mut w = [[0.0; 3]; 2];
    for a in 0..2 {
        let g = position[a] * inv_dx;
        let b = (g - 0.5).floor();
        base[a] = b as usize;
        let f = g - b;
        fx[a] = f;
        w[a] = [
            0.5 * (1.5 - f).powi(2),
            0.75 - (f - 1.0).powi(2),
            0.5 * (f - 0.5).powi(2),
        ];
    }
    (base, fx, w)
}

impl Mpm {
    /// The configuration.
    pub fn config(&self) -> &MpmConfig {
        &self.config
    }

    /// Mass of one particle (unit density, a quarter cell of volume).
    pub fn particle_mass(&self) -> f64 {
        self.particle_volume()
    }

    fn particle_volume(&self) -> f64 {
        self.config.particle_spacing().powi(2)
    }

    /// One substep: particle to grid, grid update with gravity and walls, grid to particle.
    pub fn substep(&mut self, state: &mut MpmState) {
        let cfg = self.config;
        let n = cfg.n_grid + 1;
        let dx = cfg.dx();
        let inv_dx = 1.0 / dx;
        let dt = cfg.dt;
        let p_mass = self.particle_mass();
        let p_vol = self.particle_volume();
        self.grid_mass.iter_mut().for_each(|m| *m = 0.0);
        self.grid_momentum.iter_mut().for_each(|m| *m = [0.0; 2]);

        // Particle to grid (MLS-MPM eq. 29: the stress enters as an affine momentum term).
        for particle in &mut state.particles {
            let (base, fx, w) = stencil(particle.position, inv_dx);
            let tau = cfg.material.update_and_stress(particle, dt);
            let scale = -dt * p_vol * 4.0 * inv_dx * inv_dx;
            let affine: Mat2 = std::array::from_fn(|i| {
                std::array::from_fn(|j| scale * tau[i][j] + p_mass * particle.affine[i][j])
            });
            for i in 0..3 {
                for j in 0..3 {
                    let dpos = [(i as f64 - fx[0]) * dx, (j as f64 - fx[1]) * dx];
                    let weight = w[0][i] * w[1][j];
                    let node = (base[0] + i) * n + base[1] + j;
                    for a in 0..2 {
                        self.grid_momentum[node][a] += weight
                            * (p_mass * particle.velocity[a]
                                + affine[a][0] * dpos[0]
                                + affine[a][1] * dpos[1]);
                    }
                    self.grid_mass[node] += weight * p_mass;
                }
            }
        }

        // Grid update: momentum to velocity, gravity, walls. Nodes within one cell of a wall
        // lose their velocity into it (slip) or all of it (sticky).
        let friction = cfg.material.wall_friction();
        for gi in 0..n {
            for gj in 0..n {
                let node = gi * n + gj;
                let m = self.grid_mass[node];
                if m <= 0.0 {
                    continue;
                }
                let mut v = self.grid_momentum[node].map(|p| p / m);
                v[1] -= dt * cfg.gravity;
                let node_pos = [gi as f64 * dx, gj as f64 * dx];
                let mut touching = false;
                for a in 0..2 {
                    let below = node_pos[a] < cfg.wall_lower + dx && v[a] < 0.0;
                    let above = node_pos[a] > cfg.wall_upper - dx && v[a] > 0.0;
                    if below || above {
                        v[a] = 0.0;
                        touching = true;
                    }
                }
                if touching && friction == WallFriction::Sticky {
                    v = [0.0; 2];
                }
                self.grid_momentum[node] = v;
            }
        }

        // Grid to particle (APIC): new velocity and affine field, then advection. The clamp
        // keeps particles inside the walls where the one-cell wall band cannot.
        for particle in &mut state.particles {
            let (base, fx, w) = stencil(particle.position, inv_dx);
            let mut v = [0.0; 2];
            let mut c = [[0.0; 2]; 2];
            for i in 0..3 {
                for j in 0..3 {
                    let dpos = [i as f64 - fx[0], j as f64 - fx[1]];
                    let weight = w[0][i] * w[1][j];
                    let gv = self.grid_momentum[(base[0] + i) * n + base[1] + j];
                    for a in 0..2 {
                        v[a] += weight * gv[a];
                        for b in 0..2 {
                            c[a][b] += 4.0 * inv_dx * weight * gv[a] * dpos[b];
                        }
                    }
                }
            }
            particle.velocity = v;
            particle.affine = c;
            for a in 0..2 {
                let x = particle.position[a] + dt * v[a];
                if x < cfg.wall_lower {
                    particle.position[a] = cfg.wall_lower;
                    particle.velocity[a] = particle.velocity[a].max(0.0);
                } else if x > cfg.wall_upper {
                    particle.position[a] = cfg.wall_upper;
                    particle.velocity[a] = particle.velocity[a].min(0.0);
                } else {
                    particle.position[a] = x;
                }
            }
        }
        state.substep += 1;
    }

    /// Total particle mass.
    pub fn total_mass(&self, state: &MpmState) -> f64 {
        self.particle_mass() * state.particles.len() as f64
    }

    /// Σ ½ m v² over particles.
    pub fn kinetic_energy(&self, state: &MpmState) -> f64 {
        let m = self.particle_mass();
        state
            .particles
            .iter()
            .map(|p| 0.5 * m * (p.velocity[0].powi(2) + p.velocity[1].powi(2)))
            .sum()
    }

    /// Mass transferred to the grid by the last substep; equals the particle mass when the
    /// B-spline weights partition unity.
    pub fn grid_mass(&self) -> f64 {
        self.grid_mass.iter().sum()
    }
}

impl Stepper for Mpm {
    type State = MpmState;
    type Error = SimError;

    /// Advances one stored frame (`substeps_per_frame` substeps); errors on a non-finite state.
    fn step(&mut self, state: &mut MpmState) -> Result<(), SimError> {
        for _ in 0..self.config.substeps_per_frame {
            self.substep(state);
        }
        if let Some(i) = state
            .particles
            .iter()
            .position(|p| !(p.position.iter().chain(&p.velocity).all(|v| v.is_finite())))
        {
            return Err(SimError::NonFinite {
                step: state.substep,
                particle: i,
            });
        }
        Ok(())
    }
}
