//! An E(n)-equivariant graph network for particles: EGNN (Satorras, Hoogeboom & Welling 2021,
//! "E(n) Equivariant Graph Neural Networks") with several vector channels per node, as its
//! velocity variant (§3.2) generalised to the velocity history, the walls and gravity.
//!
//! Each node carries invariant scalars `h` and `K` vectors `V`; each edge its offset `r` (sender
//! minus receiver, over the radius) and length. A layer forms a message from invariants only —
//! both ends' scalars, the length and the projections `r·V` of both ends' vectors — and updates
//! the receiver's vectors by a sum of `r` and the sender's vectors weighted by scalars read off
//! the message, and its scalars by the mean message and its vectors' squared norms. The output
//! is a scalar-weighted sum of the final vectors. Every operation maps rotated, reflected,
//! translated or permuted inputs to equally transformed outputs (the tests check it to float
//! rounding in 2D and 3D).
//!
//! Vectors are stored one `[N, K]` tensor per axis, so that rotations act across tensors and
//! every kernel is the 2D gather/scatter that GNS uses.

mod layer;

pub use layer::EgnnLayer;

use crate::graph::scatter_add;
use crate::{Mlp, MlpConfig};
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

/// Sizes of an [`Egnn`].
#[derive(Config, Debug)]
pub struct EgnnConfig {
    /// Invariant node inputs S.
    pub scalars_in: usize,
    /// Vector node inputs K₀ (each a D-vector).
    pub vectors_in: usize,
    /// Width of the scalar state H.
    #[config(default = 64)]
    pub latent: usize,
    /// Vector channels K of the state.
    #[config(default = 16)]
    pub vector_channels: usize,
    /// Hidden layers per MLP.
    #[config(default = 2)]
    pub n_hidden: usize,
    /// Message-passing layers, unshared.
    #[config(default = 5)]
    pub layers: usize,
}

/// The network.
#[derive(Module, Debug)]
pub struct Egnn {
    encoder: Mlp,
    /// `K₀ → K` channel mixing of the input vectors, no bias (a bias would not rotate).
    lift: Linear,
    layers: Vec<EgnnLayer>,
    /// Scalars → one weight per vector channel for the output.
    decoder: Mlp,
}

impl EgnnConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Egnn {
        let (h, k) = (self.latent, self.vector_channels);
        Egnn {
            encoder: MlpConfig::new(self.scalars_in, h, self.n_hidden, h, true).init(device),
            lift: LinearConfig::new(self.vectors_in, k)
                .with_bias(false)
                .init(device),
            layers: (0..self.layers)
                .map(|_| EgnnLayer::new(h, k, self.n_hidden, device))
                .collect(),
            decoder: MlpConfig::new(h, h, self.n_hidden, k, false).init(device),
        }
    }
}

/// A graph as an [`Egnn`] reads it.
#[derive(Debug, Clone)]
pub struct EgnnInput {
    /// `[N, S]` invariant node inputs.
    pub scalars: Tensor<2>,
    /// D tensors `[N, K₀]`: component `a` of every input vector.
    pub vectors: Vec<Tensor<2>>,
    /// D tensors `[E, 1]`: component `a` of each edge's offset, sender minus receiver.
    pub offsets: Vec<Tensor<2>>,
    /// `[E, 1]` each edge's offset length.
    pub lengths: Tensor<2>,
    /// `[E]` sender per edge.
    pub senders: Tensor<1, Int>,
    /// `[E]` receiver per edge.
    pub receivers: Tensor<1, Int>,
}

/// An edge list's geometry and each receiver's in-degree, shared by every layer.
#[derive(Debug, Clone)]
pub(crate) struct EdgeGeometry {
    pub offsets: Vec<Tensor<2>>,
    pub lengths: Tensor<2>,
    pub senders: Tensor<1, Int>,
    pub receivers: Tensor<1, Int>,
    /// `[N, 1]` one over each node's number of incoming edges (1 for a node without any).
    pub inverse_degree: Tensor<2>,
}

impl Egnn {
    /// Output vectors, one per node.
    ///
    /// # Shapes
    /// - returns: `[N, D]`
    pub fn forward(&self, input: EgnnInput) -> Tensor<2> {
        let [n, _] = input.scalars.dims();
        let device = input.scalars.device();
        let [e] = input.receivers.dims();
        // Mean aggregation: a sum would scale with the neighbour count, which the radius graph
        // of a splash changes by a factor of several between the bulk and the surface.
        let degree = scatter_add(Tensor::ones([e, 1], &device), input.receivers.clone(), n);
        let geometry = EdgeGeometry {
            offsets: input.offsets,
            lengths: input.lengths,
            senders: input.senders,
            receivers: input.receivers,
            inverse_degree: degree.clamp_min(1.0).recip(),
        };
        let mut h = self.encoder.forward(input.scalars);
        let mut v: Vec<Tensor<2>> = input
            .vectors
            .into_iter()
            .map(|va| self.lift.forward(va))
            .collect();
        for layer in &self.layers {
            (h, v) = layer.forward(h, v, &geometry);
        }
        let weights = self.decoder.forward(h);
        let columns = v
            .into_iter()
            .map(|va| (va * weights.clone()).sum_dim(1))
            .collect();
        Tensor::cat(columns, 1)
    }
}
