//! learnsim-sim's integration tests, one module per concept, in one test binary: one
//! link and one set of generic instantiations instead of one per file (issue #35, CI time).

mod burgers_physics;
mod cartpole_physics;
mod cosmology_physics;
mod determinism;
mod kob_andersen_physics;
mod kolmogorov_physics;
mod mie_physics;
mod mpm_physics;
mod nbody_physics;
mod pendulum_physics;
mod plasma_physics;
mod relax_physics;
mod rope_physics;
mod sph_physics;
mod sph_rigid_body;
mod spring_chain_physics;
mod stillinger_weber_physics;
mod turbulence_physics;
