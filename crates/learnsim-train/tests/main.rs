//! learnsim-train's integration tests, one module per concept, in one test binary: one
//! link and one set of generic instantiations instead of one per file (issue #35, CI time).

mod common;
mod config_fuzz;
mod cosmology;
mod data_parallel;
mod divergence;
mod equivariant;
mod fit_data_parallel;
mod fit_loop;
mod glass;
mod koopman;
mod nanophotonics;
mod object_dynamics;
mod pdenet;
mod peer_features;
mod pendulum;
mod recipe_levers;
mod resume;
mod shipped_configs;
mod tfnet;
