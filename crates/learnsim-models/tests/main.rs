//! learnsim-models's integration tests, one module per concept, in one test binary: one
//! link and one set of generic instantiations instead of one per file (issue #35, CI time).

mod egnn;
mod gn_gn;
mod grid_models;
mod learned_simulator;
mod schnet;
