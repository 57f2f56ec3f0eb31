//! learnsim-core: the vocabulary every other learnsim crate speaks.
//!
//! Nothing here knows tensors or files. It holds the [`Domain`] (bounds, periodicity,
//! minimum-image displacement), particle state for any dimension as a const generic, particle
//! kinds with their mapping to the DeepMind and LagrangeBench type ids, [`Trajectory`], dataset
//! [`Metadata`], cell-list neighbour search and the [`Stepper`] trait shared by ground-truth and
//! learned simulators.

mod domain;
mod error;
mod metadata;
mod neighbors;
mod particle_kind;
mod state;
mod stepper;
mod trajectory;

pub use domain::Domain;
pub use error::CoreError;
pub use metadata::{ExtraFeatures, Metadata, NUM_PARTICLES_MAX_LIMIT};
pub use neighbors::{CellList, Edges, SelfEdges, brute_force_edges};
pub use particle_kind::{ParticleKind, TypeConvention};
pub use state::ParticleState;
pub use stepper::Stepper;
pub use trajectory::{FeatureTable, Trajectory};

/// Floating-point type of simulator state. Stored datasets are `f32`, as in the field's formats.
pub type Real = f64;
