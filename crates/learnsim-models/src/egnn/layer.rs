//! One EGNN message-passing layer with vector channels.

use super::EdgeGeometry;
use crate::graph::{gather, scatter_add};
use crate::{Mlp, MlpConfig};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// Message `m = φ_e(h_s, h_r, |r|, r·V_s, r·V_r)`; vector update
/// `V_r += W·mean_s(r·c_r(m) + V_s·c_v(m))`; scalar update `h_r += φ_h(h_r, mean_s m, |V_r|²)`.
#[derive(Module, Debug)]
pub struct EgnnLayer {
    edge_mlp: Mlp,
    /// `m → [c_r, c_v]`, the scalar weights of the offset and of the sender's vectors.
    coefficients: Linear,
    /// `K → K` mixing of the vector update, no bias.
    mix: Linear,
    node_mlp: Mlp,
    channels: usize,
}

impl EgnnLayer {
    /// A layer with scalar width `latent`, `channels` vector channels and `n_hidden` hidden
    /// layers per MLP.
    pub fn new(latent: usize, channels: usize, n_hidden: usize, device: &Device) -> Self {
        Self {
            edge_mlp: MlpConfig::new(
                2 * latent + 1 + 2 * channels,
                latent,
                n_hidden,
                latent,
                true,
            )
            .init(device),
            coefficients: LinearConfig::new(latent, 2 * channels).init(device),
            mix: LinearConfig::new(channels, channels)
                .with_bias(false)
                .init(device),
            node_mlp: MlpConfig::new(2 * latent + channels, latent, n_hidden, latent, true)
                .init(device),
            channels,
        }
    }

    /// # Shapes
    /// - `h`: `[N, H]`, `v`: D tensors `[N, K]`
    /// - returns: the same shapes
    pub(crate) fn forward(
        &self,
        h: Tensor<2>,
        v: Vec<Tensor<2>>,
        edges: &EdgeGeometry,
    ) -> (Tensor<2>, Vec<Tensor<2>>) {
        let [n, _] = h.dims();
        let k = self.channels;
        let sent: Vec<Tensor<2>> = v
            .iter()
            .map(|va| gather(va.clone(), edges.senders.clone()))
            .collect();
        let received: Vec<Tensor<2>> = v
            .iter()
            .map(|va| gather(va.clone(), edges.receivers.clone()))
            .collect();
        // r·V at both ends: invariant, and zero on self-edges (r = 0).
        let project = |vectors: &[Tensor<2>]| {
            vectors
                .iter()
                .zip(&edges.offsets)
                .map(|(va, ra)| va.clone() * ra.clone())
                .reduce(|a, b| a + b)
                .expect("at least one axis")
        };
        let message = self.edge_mlp.forward(Tensor::cat(
            vec![
                gather(h.clone(), edges.senders.clone()),
                gather(h.clone(), edges.receivers.clone()),
                edges.lengths.clone(),
                project(&sent),
                project(&received),
            ],
            1,
        ));
        let c = self.coefficients.forward(message.clone());
        let [e, _] = c.dims();
        let c_r = c.clone().slice([0..e, 0..k]);
        let c_v = c.slice([0..e, k..2 * k]);
        let v: Vec<Tensor<2>> = v
            .into_iter()
            .zip(sent)
            .zip(&edges.offsets)
            .map(|((va, sa), ra)| {
                let update = ra.clone() * c_r.clone() + sa * c_v.clone();
                let mean =
                    scatter_add(update, edges.receivers.clone(), n) * edges.inverse_degree.clone();
                va + self.mix.forward(mean)
            })
            .collect();
        let squared_norms = v
            .iter()
            .map(|va| va.clone().powf_scalar(2.0))
            .reduce(|a, b| a + b)
            .expect("at least one axis");
        let aggregated =
            scatter_add(message, edges.receivers.clone(), n) * edges.inverse_degree.clone();
        let h = h.clone()
            + self
                .node_mlp
                .forward(Tensor::cat(vec![h, aggregated, squared_norms], 1));
        (h, v)
    }
}
