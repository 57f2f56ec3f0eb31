//! learnsim-sim: ground-truth simulators and the named, seeded scenes built on them.
//!
//! - [`mpm`]: 2D MLS-MPM with water, sand (Drucker–Prager) and goop (plastic Neo-Hookean).
//! - [`sph`]: 2D weakly compressible SPH (Taylor–Green vortex, dam break).
//! - [`nbody`]: 2D softened-gravity n-body with velocity Verlet (Interaction Networks).
//! - [`burgers`]: 2D viscous Burgers (upwind, RK2), PDE-Net 2.0's data solver.
//! - [`pendulum`], [`cartpole`]: articulated bodies of the control case (Lagrangian ODEs, RK4).
//! - [`rope`]: the Compositional Koopman rope (damped springs, top mass on a groove, impulses).
//! - [`spring_chain`]: the graph_nets demo mass–spring chain (fixed ends, Hooke, gravity).
//! - [`relax`]: FIRE relaxation of many structures at once, aligned RMSD.
//! - [`stillinger_weber`]: Stillinger–Weber silicon clusters (three-body; the SchNet case).
//! - [`kob_andersen`]: the Kob–Andersen binary Lennard-Jones glass former (3D, periodic).
//! - [`glass`]: iso-configurational propensity data from it (the glassy-dynamics case).
//! - [`mie`]: light scattering by multilayer spheres (transfer-matrix Mie; the ScatterNet case).
//! - [`plasma`]: 1D1V electrostatic particle-in-cell (two-stream, Landau damping).
//! - [`spectral`]: pseudo-spectral grids (3D FFT) and forced isotropic turbulence.
//! - [`scenes`]: seeded initial conditions.
//! - [`Case`]: the registry of particle cases that `learnsim generate` knows.
//!
//! Physics laws, pairing (learnsim-core's cell list), boundaries and integrators stay separate.

pub mod burgers;
pub mod cartpole;
pub mod case;
pub mod glass;
pub mod kob_andersen;
pub mod mat2;
pub mod mie;
pub mod mpm;
pub mod nbody;
pub mod pendulum;
pub mod plasma;
pub mod relax;
pub mod rope;
pub mod scenes;
pub mod spectral;
pub mod sph;
pub mod spring_chain;
pub mod stillinger_weber;

pub use case::{
    Case, CaseInfo, GenerationPlan, MaterialVariation, SceneVariation, Split, Tier, trajectory_seed,
};

use thiserror::Error;

/// Errors from the simulators.
#[derive(Debug, Error)]
pub enum SimError {
    /// The state became NaN or infinite: the simulation blew up.
    #[error("simulation blew up: non-finite state of particle {particle} after step {step}")]
    NonFinite { step: usize, particle: usize },
    /// A scene could not be built from its parameters.
    #[error("invalid scene: {0}")]
    Scene(String),
    /// A core invariant failed (domain, radius, trajectory shape).
    #[error(transparent)]
    Core(#[from] learnsim_core::CoreError),
}
