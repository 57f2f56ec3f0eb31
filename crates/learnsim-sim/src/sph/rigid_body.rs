//! A rigid body in WCSPH fluid, two-way coupled through its particles.
//!
//! The body is a block of particles on the fluid's lattice. To the fluid they are boundary
//! particles like the walls (dynamic boundary particles, Crespo et al. 2007: a density from
//! continuity, a Tait pressure, the fluid's particle mass in the pair terms), but they move with
//! the body. Each fluid–body pair term is symmetric, so the force a body particle feels is
//! exactly minus the one it exerts; the body sums them into a force and a torque about its
//! centre of mass and is advanced as one rigid body (LagrangeBench's "rigid body" type, as
//! Akinci et al. 2012 couple rigid solids to SPH). Total momentum of fluid and body is then
//! conserved pair by pair, and the body's particles are placed from its pose every step, so it
//! stays rigid to round-off.
//!
//! The body touches the tank's wall particles through a linear spring-dashpot on each pair
//! closer than one spacing (frictionless, damped only while closing in): the walls carry no
//! state, so this is the simplest contact that keeps the body out of them.

use learnsim_core::Domain;
use std::ops::Range;

/// One rigid body: its particles, its inertia and its pose.
#[derive(Debug, Clone, PartialEq)]
pub struct RigidBody {
    /// Indices of its particles in the state (kind [`learnsim_core::ParticleKind::Rigid`]).
    pub particles: Range<usize>,
    /// Each particle's position relative to the centre of mass at angle 0.
    pub offsets: Vec<[f64; 2]>,
    /// Mass M.
    pub mass: f64,
    /// Moment of inertia about the centre of mass.
    pub inertia: f64,
    /// Centre of mass.
    pub center: [f64; 2],
    /// Rotation angle (counter-clockwise, radians).
    pub angle: f64,
    /// Velocity of the centre of mass.
    pub velocity: [f64; 2],
    /// Angular velocity (counter-clockwise, radians per unit time).
    pub angular_velocity: f64,
}

impl RigidBody {
    /// A body at rest made of the particles at `positions[particles]` (not straddling a
    /// periodic boundary), each standing for a
    /// `dx × dx` cell of density `density`. The inertia adds each cell's own moment
    /// (m·dx²/6) to the lattice sum, so a block of n × n particles has exactly the moment of a
    /// solid square of side n·dx.
    pub fn at_rest(positions: &[[f64; 2]], particles: Range<usize>, dx: f64, density: f64) -> Self {
        let points = &positions[particles.clone()];
        let n = points.len() as f64;
        let center = [
            points.iter().map(|x| x[0]).sum::<f64>() / n,
            points.iter().map(|x| x[1]).sum::<f64>() / n,
        ];
        let offsets: Vec<[f64; 2]> = points
            .iter()
            .map(|x| [x[0] - center[0], x[1] - center[1]])
            .collect();
        let particle_mass = density * dx * dx;
        let inertia = offsets
            .iter()
            .map(|r| particle_mass * (r[0] * r[0] + r[1] * r[1] + dx * dx / 6.0))
            .sum();
        Self {
            particles,
            offsets,
            mass: particle_mass * n,
            inertia,
            center,
            angle: 0.0,
            velocity: [0.0; 2],
            angular_velocity: 0.0,
        }
    }

    /// Where particle `k` of the body is (`offsets[k]` rotated and moved to the centre),
    /// wrapped on the periodic axes of `domain`.
    pub fn position(&self, k: usize, domain: &Domain<2>) -> [f64; 2] {
        domain.shift(&self.center, &self.arm(k))
    }

    /// Particle `k`'s offset from the centre in the present orientation.
    pub fn arm(&self, k: usize) -> [f64; 2] {
        let (s, c) = self.angle.sin_cos();
        let o = self.offsets[k];
        [c * o[0] - s * o[1], s * o[0] + c * o[1]]
    }

    /// Velocity of particle `k`: V + ω × r.
    pub fn particle_velocity(&self, k: usize) -> [f64; 2] {
        let r = self.arm(k);
        [
            self.velocity[0] - self.angular_velocity * r[1],
            self.velocity[1] + self.angular_velocity * r[0],
        ]
    }

    /// Linear momentum M·V.
    pub fn momentum(&self) -> [f64; 2] {
        [self.mass * self.velocity[0], self.mass * self.velocity[1]]
    }

    /// Kinetic energy ½MV² + ½Iω².
    pub fn kinetic_energy(&self) -> f64 {
        0.5 * self.mass * (self.velocity[0].powi(2) + self.velocity[1].powi(2))
            + 0.5 * self.inertia * self.angular_velocity.powi(2)
    }

    /// One semi-implicit Euler step under the summed `force` and `torque` (about the centre)
    /// and gravity `g`, as the fluid particles step: velocities first, then the pose with the
    /// new velocities (the centre wrapped on the periodic axes of `domain`).
    pub fn advance(
        &mut self,
        force: [f64; 2],
        torque: f64,
        gravity: [f64; 2],
        dt: f64,
        domain: &Domain<2>,
    ) {
        for a in 0..2 {
            self.velocity[a] += dt * (force[a] / self.mass + gravity[a]);
        }
        self.center = domain.shift(
            &self.center,
            &[dt * self.velocity[0], dt * self.velocity[1]],
        );
        self.angular_velocity += dt * torque / self.inertia;
        self.angle += dt * self.angular_velocity;
    }

    /// Writes the body's particle positions and velocities into the state's arrays.
    pub fn place(&self, domain: &Domain<2>, position: &mut [[f64; 2]], velocity: &mut [[f64; 2]]) {
        for (k, i) in self.particles.clone().enumerate() {
            position[i] = self.position(k, domain);
            velocity[i] = self.particle_velocity(k);
        }
    }
}

/// The wall contact's spring and dashpot for a body: a stiffness at which the whole body on
/// `√n` contacts (one side of an n-particle block) rings at 0.1/dt, ten times under the
/// explicit limit, and critical damping of that mode. At rest on the floor it sinks
/// g·dt²/0.01 into it (2.6e-5 for dt = 1.6e-4, 0.2 % of a spacing of 0.0125).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contact {
    /// Spring constant per pair.
    pub stiffness: f64,
    /// Dashpot constant per pair.
    pub damping: f64,
    /// Pairs closer than this touch (one particle spacing).
    pub reach: f64,
}

impl Contact {
    /// The contact of `body` with walls of spacing `dx` under the time step `dt`.
    pub fn of(body: &RigidBody, dx: f64, dt: f64) -> Self {
        let side = (body.offsets.len() as f64).sqrt().max(1.0);
        let omega = 0.1 / dt;
        let stiffness = body.mass * omega * omega / side;
        let damping = 2.0 * (stiffness * body.mass / side).sqrt();
        Self {
            stiffness,
            damping,
            reach: dx,
        }
    }

    /// Force on a body particle at `x_ij` (its position minus the wall particle's, at distance
    /// `r`) moving at `v_ij` relative to the wall particle.
    pub fn force(&self, x_ij: [f64; 2], r: f64, v_ij: [f64; 2]) -> [f64; 2] {
        if r >= self.reach || r <= 0.0 {
            return [0.0; 2];
        }
        let n = [x_ij[0] / r, x_ij[1] / r];
        let closing = (v_ij[0] * n[0] + v_ij[1] * n[1]).min(0.0);
        let magnitude = self.stiffness * (self.reach - r) - self.damping * closing;
        [magnitude * n[0], magnitude * n[1]]
    }
}
