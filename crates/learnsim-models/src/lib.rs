//! learnsim-models: learned simulators in burn.
//!
//! - [`Mlp`]: Linear → ReLU → … → Linear (→ LayerNorm), the building block of every GNS part.
//! - [`graph`]: gather by senders/receivers and scatter-add to receivers.
//! - [`Gns`]: encode–process–decode with unshared interaction blocks (Sanchez-Gonzalez et al.
//!   2020).
//! - [`LearnedSimulator`]: featurize → network → decode, plus decode's inverse for the training
//!   targets (DeepMind's `learned_simulator.py`).

mod gns;
pub mod graph;
mod learned_simulator;
mod mlp;

pub use gns::{Gns, GnsConfig, InteractionBlock};
pub use learned_simulator::{
    GnsModel, GraphInput, LearnedSimulator, LearnedSimulatorConfig, Normalization,
};
pub use mlp::{Mlp, MlpConfig};

/// The device learnsim trains on by default: burn's pure-Rust `flex` CPU backend with autodiff.
pub fn default_training_device() -> burn::tensor::Device {
    burn::tensor::Device::flex().autodiff()
}

/// The device for inference: `flex` without autodiff.
pub fn default_inference_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}
