//! Weakly compressible SPH in 2D with the Wendland C2 kernel and a Tait equation of state, in
//! two formulations:
//! - [`Formulation::DeltaSph`]: continuity density with δ-SPH diffusion (Molteni & Colagrossi
//!   2009), Morris et al. (1997) viscosity and dynamic boundary particles (Crespo et al. 2007),
//!   semi-implicit Euler. For free-surface flows (dam break).
//! - [`Formulation::TransportVelocity`]: Adami, Hu & Adams (2013) transport-velocity
//!   formulation with summation density, kick–drift–kick. For flows that fill a periodic box
//!   (Taylor–Green), where plain WCSPH disorders the particles within a tenth of a time unit;
//!   this is the formulation of jax-sph, which made LagrangeBench's TGV data.

mod delta_sph;
mod neighbors;
mod rigid_body;
mod transport_velocity;
mod wendland_kernel;

pub use rigid_body::{Contact, RigidBody};
pub use wendland_kernel::WendlandC2;

use crate::SimError;
use learnsim_core::{CellList, Domain, ParticleKind, ParticleState, Stepper};
use neighbors::{Neighbors, SKIN_OVER_H, VerletList};

/// Which SPH scheme advances the state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Formulation {
    /// δ-SPH with coefficient δ.
    DeltaSph {
        /// δ of the density diffusion term (0.1 is customary).
        density_diffusion: f64,
    },
    /// Transport-velocity formulation with the given background pressure p_b.
    TransportVelocity {
        /// Background pressure that drives the transport velocity (Adami: p_b = ρ₀c₀²).
        background_pressure: f64,
    },
}

/// Parameters of a WCSPH simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SphConfig {
    /// The box; periodic axes wrap, walled axes clamp particles that reach the bound.
    pub domain: Domain<2>,
    /// Initial particle spacing.
    pub dx: f64,
    /// Smoothing length over spacing, h/dx.
    pub smoothing_ratio: f64,
    /// Time step.
    pub dt: f64,
    /// Steps per stored frame.
    pub steps_per_frame: usize,
    /// Rest density ρ₀.
    pub rest_density: f64,
    /// Artificial sound speed c₀ (≈ 10× the largest flow speed, so density varies by ~1 %).
    pub sound_speed: f64,
    /// Tait exponent γ.
    pub eos_exponent: f64,
    /// Kinematic viscosity ν.
    pub viscosity: f64,
    /// Gravity vector.
    pub gravity: [f64; 2],
    /// The scheme.
    pub formulation: Formulation,
}

impl SphConfig {
    /// The kernel of this configuration.
    pub fn kernel(&self) -> WendlandC2 {
        WendlandC2 {
            h: self.smoothing_ratio * self.dx,
        }
    }

    /// Particle mass: the mass at which kernel summation over the initial square lattice gives
    /// exactly ρ₀. Taking ρ₀·dx² instead leaves the lattice at ρ ≈ 1.01·ρ₀ for h = 1.3 dx, a
    /// spurious uniform pressure of about ρ₀c₀²/100 whose error force on a stretched lattice
    /// outweighs a Taylor–Green vortex's dynamic pressure.
    pub fn particle_mass(&self) -> f64 {
        let kernel = self.kernel();
        let reach = (kernel.support() / self.dx).ceil() as i64;
        let mut sum = 0.0;
        for a in -reach..=reach {
            for b in -reach..=reach {
                sum += kernel.value(self.dx * ((a * a + b * b) as f64).sqrt());
            }
        }
        self.rest_density / sum
    }

    /// Time between stored frames.
    pub fn frame_dt(&self) -> f64 {
        self.dt * self.steps_per_frame as f64
    }

    fn eos_stiffness(&self) -> f64 {
        self.rest_density * self.sound_speed.powi(2) / self.eos_exponent
    }

    /// Tait pressure p = ρ₀c₀²/γ · ((ρ/ρ₀)^γ − 1).
    pub fn pressure(&self, density: f64) -> f64 {
        self.eos_stiffness() * ((density / self.rest_density).powf(self.eos_exponent) - 1.0)
    }

    /// Density that gives the pressure `p` under the Tait equation.
    pub fn density_for_pressure(&self, p: f64) -> f64 {
        self.rest_density * (p / self.eos_stiffness() + 1.0).powf(1.0 / self.eos_exponent)
    }

    /// Builds the solver.
    pub fn init(self) -> Result<Sph, SimError> {
        let skin = SKIN_OVER_H * self.kernel().h;
        let cells = CellList::new(self.domain, self.kernel().support() + skin)?;
        Ok(Sph {
            config: self,
            verlet: VerletList::new(cells, skin),
            neighbors: Neighbors::default(),
        })
    }
}

/// Particles of an SPH simulation: plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct SphState {
    /// Positions, velocities and kinds (kinematic kinds are walls).
    pub particles: ParticleState<2>,
    /// Densities.
    pub density: Vec<f64>,
    /// Transport velocities ṽ of the transport-velocity formulation (equal to the velocities
    /// at the start; unused by δ-SPH).
    pub transport_velocity: Vec<[f64; 2]>,
    /// Steps taken so far.
    pub step: usize,
    /// The rigid body whose particles (kind `Rigid`) move with it, if any (δ-SPH only).
    pub body: Option<RigidBody>,
}

impl SphState {
    /// A state at the given particles with the given densities.
    pub fn new(particles: ParticleState<2>, density: Vec<f64>) -> Self {
        assert_eq!(particles.n_particles(), density.len());
        Self {
            transport_velocity: particles.velocity.clone(),
            particles,
            density,
            step: 0,
            body: None,
        }
    }

    /// This state with `body` moving its particles (placed at its pose in `domain`).
    pub fn with_body(mut self, body: RigidBody, domain: &Domain<2>) -> Self {
        body.place(
            domain,
            &mut self.particles.position,
            &mut self.particles.velocity,
        );
        self.body = Some(body);
        self
    }
}

/// Whether a particle of this kind is fluid: neither a wall nor part of a rigid body.
pub fn is_fluid(kind: ParticleKind) -> bool {
    !kind.is_kinematic() && kind != ParticleKind::Rigid
}

/// The WCSPH solver.
#[derive(Debug, Clone)]
pub struct Sph {
    config: SphConfig,
    verlet: VerletList,
    /// This substep's pairs; the buffers live on from step to step.
    neighbors: Neighbors,
}

impl Sph {
    /// The configuration.
    pub fn config(&self) -> &SphConfig {
        &self.config
    }

    /// Σ ½ m v² over fluid particles, plus the rigid body's kinetic energy.
    pub fn kinetic_energy(&self, state: &SphState) -> f64 {
        let m = self.config.particle_mass();
        let p = &state.particles;
        let fluid: f64 = (0..p.n_particles())
            .filter(|&i| is_fluid(p.kind[i]))
            .map(|i| 0.5 * m * (p.velocity[i][0].powi(2) + p.velocity[i][1].powi(2)))
            .sum();
        fluid + state.body.as_ref().map_or(0.0, RigidBody::kinetic_energy)
    }

    /// Σ m v over fluid particles, plus the rigid body's momentum.
    pub fn momentum(&self, state: &SphState) -> [f64; 2] {
        let m = self.config.particle_mass();
        let p = &state.particles;
        let mut total = state.body.as_ref().map_or([0.0; 2], RigidBody::momentum);
        for i in (0..p.n_particles()).filter(|&i| is_fluid(p.kind[i])) {
            total[0] += m * p.velocity[i][0];
            total[1] += m * p.velocity[i][1];
        }
        total
    }

    /// Takes the pair buffers out of the solver, filled for `positions`; hand them back with
    /// [`Sph::recycle`].
    fn neighbors(&mut self, positions: &[[f64; 2]]) -> Neighbors {
        self.verlet.update(positions);
        let mut neighbors = std::mem::take(&mut self.neighbors);
        neighbors.update(&self.verlet, positions);
        neighbors
    }

    fn recycle(&mut self, neighbors: Neighbors) {
        self.neighbors = neighbors;
    }

    /// Moves a fluid particle by `dx`: periodic axes wrap, walled axes clamp at the bound and
    /// lose the velocity component that points out.
    fn advect(&self, position: &mut [f64; 2], velocity: &mut [f64; 2], dx: [f64; 2]) {
        let domain = &self.config.domain;
        let mut x = domain.shift(position, &dx);
        for a in 0..2 {
            if domain.periodic[a] {
                continue;
            }
            if x[a] < domain.lower[a] {
                x[a] = domain.lower[a];
                velocity[a] = velocity[a].max(0.0);
            } else if x[a] > domain.upper[a] {
                x[a] = domain.upper[a];
                velocity[a] = velocity[a].min(0.0);
            }
        }
        *position = x;
    }

    /// One time step of the configured formulation.
    pub fn substep(&mut self, state: &mut SphState) {
        match self.config.formulation {
            Formulation::DeltaSph { density_diffusion } => {
                delta_sph::substep(self, state, density_diffusion)
            }
            Formulation::TransportVelocity {
                background_pressure,
            } => transport_velocity::substep(self, state, background_pressure),
        }
        state.step += 1;
    }
}

impl Stepper for Sph {
    type State = SphState;
    type Error = SimError;

    /// Advances one stored frame; errors on a non-finite state, or on a rigid body under the
    /// transport-velocity formulation (which has no boundary particles).
    fn step(&mut self, state: &mut SphState) -> Result<(), SimError> {
        if state.body.is_some()
            && matches!(
                self.config.formulation,
                Formulation::TransportVelocity { .. }
            )
        {
            return Err(SimError::Scene(
                "a rigid body needs the delta-SPH formulation".into(),
            ));
        }
        for _ in 0..self.config.steps_per_frame {
            self.substep(state);
        }
        let p = &state.particles;
        if let Some(i) = (0..p.n_particles()).find(|&i| {
            !(p.position[i]
                .iter()
                .chain(&p.velocity[i])
                .all(|v| v.is_finite())
                && state.density[i].is_finite())
        }) {
            return Err(SimError::NonFinite {
                step: state.step,
                particle: i,
            });
        }
        Ok(())
    }
}

/// Fluid kind used by the SPH scenes.
pub const FLUID: ParticleKind = ParticleKind::Water;
