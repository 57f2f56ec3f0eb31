//! The forward model of "Graph networks as learnable physics engines for inference and control"
//! (Sanchez-Gonzalez et al. 2018): GN blocks in sequence, each after the first fed the input
//! graph concatenated with the previous block's output (the paper's graph skip connection),
//! with no encoder, no LayerNorm, and the last block's node function giving the output.

use crate::graph::{gather, scatter_add};
use crate::{Mlp, MlpConfig};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Sizes of a GN-GN.
#[derive(Config, Debug)]
pub struct GnGnConfig {
    /// Node input width.
    pub node_in: usize,
    /// Edge input width.
    pub edge_in: usize,
    /// Output width per node.
    pub node_out: usize,
    /// Width of the hidden layers and of the latent edges and nodes between blocks.
    #[config(default = 128)]
    pub latent: usize,
    /// Hidden layers per MLP.
    #[config(default = 2)]
    pub n_hidden: usize,
    /// GN blocks, so rounds of message passing (paper: 2).
    #[config(default = 2)]
    pub blocks: usize,
}

/// One GN block without globals: edge function on [e, v_senders, v_receivers], node function on
/// [v, Σ_receivers e′]; neither is residual, so the widths may change.
#[derive(Module, Debug)]
pub struct GnBlock {
    edge_mlp: Mlp,
    node_mlp: Mlp,
}

impl GnBlock {
    /// # Shapes
    /// - `nodes`: `[N, node_in]`, `edges`: `[E, edge_in]`, `senders`/`receivers`: `[E]`
    /// - returns: (`[N, node_out]`, `[E, edge_out]`)
    pub fn forward(
        &self,
        nodes: Tensor<2>,
        edges: Tensor<2>,
        senders: Tensor<1, Int>,
        receivers: Tensor<1, Int>,
    ) -> (Tensor<2>, Tensor<2>) {
        let n_nodes = nodes.dims()[0];
        let edge_input = Tensor::cat(
            vec![
                edges,
                gather(nodes.clone(), senders),
                gather(nodes.clone(), receivers.clone()),
            ],
            1,
        );
        let new_edges = self.edge_mlp.forward(edge_input);
        let aggregated = scatter_add(new_edges.clone(), receivers, n_nodes);
        let new_nodes = self
            .node_mlp
            .forward(Tensor::cat(vec![nodes, aggregated], 1));
        (new_nodes, new_edges)
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct GnGn {
    blocks: Vec<GnBlock>,
}

impl GnGnConfig {
    /// Builds the network.
    ///
    /// # Panics
    /// If `blocks` is 0.
    pub fn init(&self, device: &Device) -> GnGn {
        assert!(self.blocks > 0, "a GN-GN needs at least one block");
        let l = self.latent;
        let mlp = |d_in, d_out| MlpConfig::new(d_in, l, self.n_hidden, d_out, false).init(device);
        let blocks = (0..self.blocks)
            .map(|k| {
                // Block k > 0 sees [input, previous output] on nodes and edges.
                let (node_in, edge_in) = if k == 0 {
                    (self.node_in, self.edge_in)
                } else {
                    (self.node_in + l, self.edge_in + l)
                };
                let node_out = if k + 1 == self.blocks {
                    self.node_out
                } else {
                    l
                };
                GnBlock {
                    edge_mlp: mlp(edge_in + 2 * node_in, l),
                    node_mlp: mlp(node_in + l, node_out),
                }
            })
            .collect();
        GnGn { blocks }
    }
}

impl GnGn {
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
        let (mut v, mut e) = (nodes.clone(), edges.clone());
        for (k, block) in self.blocks.iter().enumerate() {
            if k > 0 {
                v = Tensor::cat(vec![nodes.clone(), v], 1);
                e = Tensor::cat(vec![edges.clone(), e], 1);
            }
            (v, e) = block.forward(v, e, senders.clone(), receivers.clone());
        }
        v
    }
}
