//! learnsim-eval's integration tests, one module per concept, in one test binary: one
//! link and one set of generic instantiations instead of one per file (issue #35, CI time).

mod correlation;
mod object_dynamics;
mod protocol;
mod rollout;
mod sinkhorn;
