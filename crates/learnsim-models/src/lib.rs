//! learnsim-models: learned simulators in burn.
//!
//! - [`Mlp`]: Linear → ReLU → … → Linear (→ LayerNorm), the building block of every GNS part.
//! - [`graph`]: gather by senders/receivers and scatter-add to receivers.
//! - [`Gns`]: encode–process–decode with unshared interaction blocks (Sanchez-Gonzalez et al.
//!   2020).
//! - [`GnGn`]: GN blocks in sequence with graph skip connections (Sanchez-Gonzalez et al.
//!   2018), the control case's forward model.
//! - [`InteractionNetwork`]: relational + object MLPs over all ordered pairs (Battaglia et al.
//!   2016), the n-body case's model.
//! - [`SchNet`]: continuous-filter convolutions with forces by autodiff (Schütt et al. 2017),
//!   the silicon case's model.
//! - [`FieldAutoencoder`]: periodic 3D convolutional autoencoder, optionally decoding a vector
//!   potential whose discrete curl is exactly solenoidal (Mohan et al. 2020).
//! - [`UNet3d`]: periodic 3D U-Net with sub-pixel upsampling (D3M, He et al. 2019).
//! - [`TfNet`]: TF-Net's learnable spatial and temporal filters, three encoders and a shared
//!   decoder (Wang et al. 2020), or with `filters = false` the plain U-Net baseline.
//! - [`Fno2d`]: a 2D Fourier neural operator (Li et al. 2021), TF-Net's spectral baseline;
//!   it, TF-Net and the U-Net are [`WindowModel`]s (a window of frames → the next frame).
//! - [`PdeNet`]: moment-constrained derivative filters and SymNets (PDE-Net 2.0).
//! - [`Egnn`]: an E(n)-equivariant graph network with vector channels (Satorras et al. 2021),
//!   the particle cases' alternative to GNS (`model = "egnn"`).
//! - [`LearnedSimulator`]: featurize → network → decode, plus decode's inverse for the training
//!   targets (DeepMind's `learned_simulator.py`).

mod egnn;
mod field_autoencoder;
mod fno;
mod fused_training;
mod gn_gn;
mod gns;
pub mod graph;
mod interaction_network;
mod learned_simulator;
mod mlp;
mod pdenet;
mod periodic_cnn;
mod schnet;
mod tfnet;
mod unet3d;
mod window_model;

pub use egnn::{Egnn, EgnnConfig, EgnnInput, EgnnLayer};
pub use field_autoencoder::{
    FieldAutoencoder, FieldAutoencoderConfig, FieldOutput, central_difference, curl,
    leray_potential, periodic_pad, pixel_shuffle,
};
pub use fno::{Fno2d, Fno2dConfig};
pub use fused_training::{AdamState, FusedGnsModelTrainer};
pub use gn_gn::{GnBlock, GnGn, GnGnConfig};
pub use gns::{FusedGns, FusedGnsTrainer, Gns, GnsConfig, GnsWorkspace, InteractionBlock};
pub use interaction_network::{InteractionNetwork, InteractionNetworkConfig};
pub use learned_simulator::{
    Architecture, EgnnModel, FusedGnsModel, GnsModel, GraphInput, LearnedSimulator,
    LearnedSimulatorConfig, NodeExtras, Normalization, ParticleModel, VectorLayout, WallNodes,
};
pub use mlp::{Mlp, MlpConfig, MlpParameter};
pub use pdenet::{DERIVATIVES, PdeNet, PdeNetConfig, SymNet};
pub use periodic_cnn::{PeriodicCnn, PeriodicCnnConfig};
pub use schnet::{AtomsGraph, SchNet, SchNetConfig, SchNetInteraction, ssp};
pub use tfnet::{TfNet, TfNetConfig, pixel_shuffle_2d};
pub use unet3d::{UNet3d, UNet3dConfig};
pub use window_model::WindowModel;

/// The device learnsim trains on: burn's pure-Rust `flex` CPU backend with autodiff, or the
/// best wgpu adapter (Vulkan/Metal/WebGPU, set `CUBECL_WGPU_DEFAULT_DEVICE` to choose) when
/// built with the `wgpu` feature.
pub fn default_training_device() -> burn::tensor::Device {
    default_inference_device().autodiff()
}

/// Whether inference should go through the fused CPU kernel ([`FusedGns`]) rather than burn:
/// yes on the default CPU build, no when built for a GPU (`wgpu`), where burn runs on the GPU.
pub fn fused_cpu_inference() -> bool {
    cfg!(not(feature = "wgpu"))
}

/// The device for inference: the training device without autodiff.
pub fn default_inference_device() -> burn::tensor::Device {
    #[cfg(feature = "wgpu")]
    let device = burn::tensor::Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    #[cfg(not(feature = "wgpu"))]
    let device = burn::tensor::Device::flex();
    device
}
