//! learnsim-data's integration tests, one module per concept, in one test binary: one
//! link and one set of generic instantiations instead of one per file (issue #35, CI time).

mod common;
mod h5py_interop;
mod hostile_formats;
mod interop;
mod peer_features;
mod store;
mod well_grid;
