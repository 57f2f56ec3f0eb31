//! One interaction-network block of the GNS processor, with residuals on nodes and edges.

use crate::graph::{gather, scatter_add};
use crate::{Mlp, MlpConfig};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Edge update on [e, v_senders, v_receivers], node update on [v, Σ_receivers e'].
#[derive(Module, Debug)]
pub struct InteractionBlock {
    edge_mlp: Mlp,
    node_mlp: Mlp,
}

impl InteractionBlock {
    /// A block of latent width `latent` with `n_hidden` hidden layers per MLP.
    pub fn new(latent: usize, n_hidden: usize, device: &Device) -> Self {
        Self {
            edge_mlp: MlpConfig::new(3 * latent, latent, n_hidden, latent, true).init(device),
            node_mlp: MlpConfig::new(2 * latent, latent, n_hidden, latent, true).init(device),
        }
    }

    /// # Shapes
    /// - `nodes`: `[N, L]`, `edges`: `[E, L]`, `senders`/`receivers`: `[E]`
    /// - returns: (`[N, L]`, `[E, L]`)
    pub fn forward(
        &self,
        nodes: Tensor<2>,
        edges: Tensor<2>,
        senders: Tensor<1, Int>,
        receivers: Tensor<1, Int>,
    ) -> (Tensor<2>, Tensor<2>) {
        let [n_nodes, _] = nodes.dims();
        let edge_in = Tensor::cat(
            vec![
                edges.clone(),
                gather(nodes.clone(), senders),
                gather(nodes.clone(), receivers.clone()),
            ],
            1,
        );
        let edge_update = self.edge_mlp.forward(edge_in);
        let aggregated = scatter_add(edge_update.clone(), receivers, n_nodes);
        let node_update = self
            .node_mlp
            .forward(Tensor::cat(vec![nodes.clone(), aggregated], 1));
        (nodes + node_update, edges + edge_update)
    }
}
