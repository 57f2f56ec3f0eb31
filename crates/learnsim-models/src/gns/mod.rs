//! Encode–process–decode graph network (Sanchez-Gonzalez et al. 2020, `graph_network.py`).

mod fused;
mod fused_train;
mod interaction_network;

pub use fused::{FusedGns, GnsWorkspace};
pub use fused_train::FusedGnsTrainer;
pub(crate) use fused_train::adam_update;
pub use interaction_network::InteractionBlock;

use crate::{Mlp, MlpConfig};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Sizes of a GNS.
#[derive(Config, Debug)]
pub struct GnsConfig {
    /// Node input width.
    pub node_in: usize,
    /// Edge input width.
    pub edge_in: usize,
    /// Output width (the dimension, for accelerations).
    pub node_out: usize,
    /// Latent width (paper: 128).
    #[config(default = 128)]
    pub latent: usize,
    /// Hidden layers per MLP (paper: 2).
    #[config(default = 2)]
    pub n_hidden: usize,
    /// Message-passing steps, each an unshared block (paper: 10).
    #[config(default = 10)]
    pub message_passing_steps: usize,
    /// Whether the encoder and processor MLPs end in LayerNorm (GNS: yes).
    #[config(default = true)]
    pub layer_norm: bool,
}

/// The network.
#[derive(Module, Debug)]
pub struct Gns {
    node_encoder: Mlp,
    edge_encoder: Mlp,
    processor: Vec<InteractionBlock>,
    decoder: Mlp,
}

impl GnsConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Gns {
        let l = self.latent;
        Gns {
            node_encoder: MlpConfig::new(self.node_in, l, self.n_hidden, l, self.layer_norm)
                .init(device),
            edge_encoder: MlpConfig::new(self.edge_in, l, self.n_hidden, l, self.layer_norm)
                .init(device),
            processor: (0..self.message_passing_steps)
                .map(|_| {
                    InteractionBlock::with_layer_norm(l, self.n_hidden, self.layer_norm, device)
                })
                .collect(),
            decoder: MlpConfig::new(l, l, self.n_hidden, self.node_out, false).init(device),
        }
    }
}

impl Gns {
    /// The network with every MLP passed through `f` in the order node encoder, edge encoder,
    /// then each block's edge and node MLP, then the decoder (the reference's `param_sizes`).
    pub fn map_mlps(self, f: &mut dyn FnMut(Mlp) -> Mlp) -> Self {
        let node_encoder = f(self.node_encoder);
        let edge_encoder = f(self.edge_encoder);
        let processor = self
            .processor
            .into_iter()
            .map(|block| block.map_mlps(f))
            .collect();
        let decoder = f(self.decoder);
        Self {
            node_encoder,
            edge_encoder,
            processor,
            decoder,
        }
    }

    /// Node encoder, edge encoder, processor blocks and decoder.
    pub(crate) fn parts(&self) -> (&Mlp, &Mlp, &[InteractionBlock], &Mlp) {
        (
            &self.node_encoder,
            &self.edge_encoder,
            &self.processor,
            &self.decoder,
        )
    }

    /// # Shapes
    /// - `nodes`: `[N, node_in]`, `edges`: `[E, edge_in]`, `senders`/`receivers`: `[E]`
    /// - returns: `[N, node_out]`
    pub fn forward(
        &self,
        nodes: Tensor<2>,
        edges: Tensor<2>,
        senders: Tensor<1, Int>,
        receivers: Tensor<1, Int>,
    ) -> Tensor<2> {
        let mut v = self.node_encoder.forward(nodes);
        let mut e = self.edge_encoder.forward(edges);
        for block in &self.processor {
            (v, e) = block.forward(v, e, senders.clone(), receivers.clone());
        }
        self.decoder.forward(v)
    }
}
