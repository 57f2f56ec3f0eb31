//! GNS training on the CPU with the fused kernel: forward with a tape, the backward pass
//! written out by hand, and Adam — the same function, gradients and update as burn's autodiff
//! and `Adam` on [`Gns`], at a fraction of the time (docs/performance.md).
//!
//! The backward pass of each MLP runs layer by layer over all rows: LayerNorm's backward per
//! row, then for each layer the weight gradient `xᵀ·dz`, the bias gradient `Σ dz`, and
//! `dz·Wᵀ` masked by the ReLU. Weight and bias gradients are summed over [`GROUPS`] fixed row
//! ranges and then added in order, so the bytes of every gradient do not depend on the
//! number of threads. The first layer of the edge MLP is split as in the forward pass: the
//! gradients of the node projections `v·W_s`, `v·W_r` are segmented sums of the edge
//! gradients over senders and over receivers.

use super::fused::{FusedGns, ROWS, index_list, segment_sum, sort_by_receiver};
use crate::Gns;
use burn::tensor::Device;
use rayon::prelude::*;

mod parallel;
mod tape;

pub(crate) use parallel::par_add;
use parallel::{ELEMENTS, accumulate_col_sums, accumulate_xt_dz, par_matmul};
use tape::{MlpTape, Pool, mlp_backward, mlp_forward, plain_mlp_forward};

/// The tape of one interaction block.
#[derive(Debug, Default)]
struct BlockTape {
    /// The block's input nodes and edges, and the aggregated edge updates.
    v: Vec<f32>,
    e: Vec<f32>,
    aggregated: Vec<f32>,
    edge: MlpTape,
    node: MlpTape,
}

/// Adam's moments, in [`FusedGns::arrays_mut`]'s order.
#[derive(Debug, Clone)]
struct AdamMoments {
    first: Vec<Vec<f32>>,
    second: Vec<Vec<f32>>,
    steps: i32,
}

/// A [`Gns`] trained with the fused CPU kernel: [`loss_and_gradients`](Self::loss_and_gradients)
/// then [`adam_step`](Self::adam_step).
#[derive(Debug)]
pub struct FusedGnsTrainer {
    net: FusedGns,
    grad: FusedGns,
    adam: AdamMoments,
    node_encoder: MlpTape,
    edge_encoder: MlpTape,
    blocks: Vec<BlockTape>,
    decoder: MlpTape,
    v_final: Vec<f32>,
    pool: Pool,
    senders: Vec<u32>,
    receivers: Vec<u32>,
    by_sender: Vec<u32>,
    sender_offsets: Vec<u32>,
    by_receiver: Vec<u32>,
    receiver_offsets: Vec<u32>,
}

fn zeroed(net: &FusedGns) -> FusedGns {
    let mut g = net.clone();
    for a in g.arrays_mut() {
        a.fill(0.0);
    }
    g
}

impl FusedGnsTrainer {
    /// Starts from the network's parameters, with fresh Adam moments.
    pub fn new(gns: &Gns) -> Self {
        let net = FusedGns::new(gns);
        let grad = zeroed(&net);
        let mut shapes = zeroed(&net);
        let first: Vec<Vec<f32>> = shapes.arrays_mut().into_iter().map(|a| a.clone()).collect();
        Self {
            adam: AdamMoments {
                second: first.clone(),
                first,
                steps: 0,
            },
            blocks: (0..net.blocks.len())
                .map(|_| BlockTape::default())
                .collect(),
            net,
            grad,
            node_encoder: MlpTape::default(),
            edge_encoder: MlpTape::default(),
            decoder: MlpTape::default(),
            v_final: Vec::new(),
            pool: Pool::default(),
            senders: Vec::new(),
            receivers: Vec::new(),
            by_sender: Vec::new(),
            sender_offsets: Vec::new(),
            by_receiver: Vec::new(),
            receiver_offsets: Vec::new(),
        }
    }

    /// Adam steps taken.
    pub fn adam_steps(&self) -> i32 {
        self.adam.steps
    }

    /// Adam's step count and moments, in [`FusedGns`]'s array order (for checkpoints).
    pub fn moments(&self) -> (i32, Vec<Vec<f32>>, Vec<Vec<f32>>) {
        (
            self.adam.steps,
            self.adam.first.clone(),
            self.adam.second.clone(),
        )
    }

    /// Restores Adam's step count and moments.
    ///
    /// # Errors
    /// If the number of arrays or a length differs from this network's.
    pub fn set_moments(
        &mut self,
        steps: i32,
        first: Vec<Vec<f32>>,
        second: Vec<Vec<f32>>,
    ) -> Result<(), String> {
        for (what, arrays) in [("first", &first), ("second", &second)] {
            if arrays.len() != self.adam.first.len() {
                return Err(format!(
                    "{} {what}-moment arrays for a network of {}",
                    arrays.len(),
                    self.adam.first.len()
                ));
            }
            for (k, (a, b)) in arrays.iter().zip(&self.adam.first).enumerate() {
                if a.len() != b.len() {
                    return Err(format!(
                        "{what}-moment array {k} has {} values, the parameter {}",
                        a.len(),
                        b.len()
                    ));
                }
            }
        }
        self.adam = AdamMoments {
            first,
            second,
            steps,
        };
        Ok(())
    }

    /// Every parameter array, in [`FusedGns`]'s order (data-parallel training broadcasts them).
    pub fn parameters_mut(&mut self) -> Vec<&mut Vec<f32>> {
        self.net.arrays_mut()
    }

    /// The gradients of the last [`loss_and_gradients`](Self::loss_and_gradients), in
    /// [`parameters_mut`](Self::parameters_mut)'s order (data-parallel training sums them over
    /// ranks before [`adam_step`](Self::adam_step)).
    pub fn gradients_mut(&mut self) -> Vec<&mut Vec<f32>> {
        self.grad.arrays_mut()
    }

    /// The network as trained so far.
    pub fn network(&self) -> &FusedGns {
        &self.net
    }

    /// The trained parameters written into `gns` (same sizes), for checkpoints and burn.
    pub fn write_into(&self, gns: Gns, device: &Device) -> Gns {
        self.net.write_into(gns, device)
    }

    /// The weighted squared error `Σ w·(y − t)² / max(Σ w, 1)` of the network's output `y` on
    /// the graph against `target`, with every parameter's gradient of it left for
    /// [`adam_step`](Self::adam_step); `weights = None` weighs every output 1 (the mean).
    /// With `node_input_gradient`, also returns the gradient with respect to `nodes`.
    ///
    /// # Shapes
    /// - `nodes`: `[N, node_in]`, `edges`: `[E, edge_in]`, `senders`/`receivers`: `[E]`
    /// - `target`, `weights`: `[N, node_out]`
    ///
    /// # Panics
    /// If a width disagrees with the network's or an index is not a node.
    pub fn loss_and_gradients(
        &mut self,
        nodes: &[f32],
        edges: &[f32],
        senders: &[i64],
        receivers: &[i64],
        target: &[f32],
        weights: Option<&[f32]>,
        node_input_gradient: bool,
    ) -> (f32, Option<Vec<f32>>) {
        let net = &self.net;
        let (l, node_in, edge_in, out_w) =
            (net.latent, net.node_in(), net.edge_in(), net.node_out());
        let n = nodes.len() / node_in.max(1);
        let n_edges = senders.len();
        assert_eq!(nodes.len(), n * node_in, "fused GNS training: node widths");
        assert_eq!(
            edges.len(),
            n_edges * edge_in,
            "fused GNS training: edge widths"
        );
        assert_eq!(receivers.len(), n_edges, "fused GNS training: receivers");
        assert_eq!(target.len(), n * out_w, "fused GNS training: target shape");
        if let Some(w) = weights {
            assert_eq!(w.len(), target.len(), "fused GNS training: weights shape");
        }
        index_list(senders, n, "sender", &mut self.senders);
        index_list(receivers, n, "receiver", &mut self.receivers);
        sort_by_receiver(
            &self.senders,
            n,
            &mut self.by_sender,
            &mut self.sender_offsets,
        );
        sort_by_receiver(
            &self.receivers,
            n,
            &mut self.by_receiver,
            &mut self.receiver_offsets,
        );
        for a in self.grad.arrays_mut() {
            a.fill(0.0);
        }

        // Forward, keeping the tape.
        let pool = &mut self.pool;
        let mut v = std::mem::take(&mut self.v_final);
        v.resize(n * l, 0.0);
        v.truncate(n * l);
        let mut e = pool.take(n_edges * l);
        plain_mlp_forward(&net.node_encoder, &mut self.node_encoder, nodes, &mut v);
        plain_mlp_forward(&net.edge_encoder, &mut self.edge_encoder, edges, &mut e);
        let mut e_update = pool.take(n_edges * l);
        let mut v_update = pool.take(n * l);
        for (block, tape) in net.blocks.iter().zip(&mut self.blocks) {
            tape.v.clone_from(&v);
            tape.e.clone_from(&e);
            let first = &block.edge.layers[0];
            let h0 = first.fan_out;
            let mut p_s = pool.take(n * h0);
            let mut p_r = pool.take(n * h0);
            par_matmul(&mut p_s, &v, first.rows(l, l), false);
            par_matmul(&mut p_r, &v, first.rows(2 * l, l), false);
            let a = tape.edge.first(&block.edge, n_edges);
            par_matmul(a, &e, first.rows(0, l), false);
            let (s_idx, r_idx) = (&self.senders, &self.receivers);
            a.par_chunks_mut(h0)
                .enumerate()
                .with_min_len(ROWS)
                .for_each(|(k, row)| {
                    let (s, r) = (s_idx[k] as usize, r_idx[k] as usize);
                    let (ps, pr) = (&p_s[s * h0..(s + 1) * h0], &p_r[r * h0..(r + 1) * h0]);
                    for ((x, p), q) in row.iter_mut().zip(ps).zip(pr) {
                        *x += p + q;
                    }
                });
            mlp_forward(&block.edge, &mut tape.edge, &mut e_update);
            par_add(&mut e, &e_update);
            tape.aggregated.resize(n * l, 0.0);
            segment_sum(
                &e_update,
                &self.by_receiver,
                &self.receiver_offsets,
                &mut tape.aggregated,
                l,
            );
            let node_first = &block.node.layers[0];
            let a = tape.node.first(&block.node, n);
            par_matmul(a, &v, node_first.rows(0, l), false);
            par_matmul(a, &tape.aggregated, node_first.rows(l, l), true);
            mlp_forward(&block.node, &mut tape.node, &mut v_update);
            par_add(&mut v, &v_update);
            pool.give(p_s);
            pool.give(p_r);
        }
        pool.give(e);
        pool.give(e_update);
        pool.give(v_update);
        let dec = &net.decoder;
        let mut y = vec![0.0f32; n * out_w];
        plain_mlp_forward(dec, &mut self.decoder, &v, &mut y);
        self.v_final = v;

        // Loss and its gradient.
        let total_weight =
            weights.map_or(y.len() as f64, |w| w.iter().map(|&x| f64::from(x)).sum());
        let count = total_weight.max(1.0);
        let mut loss = 0.0f64;
        let mut dy = self.pool.take(y.len());
        for i in 0..y.len() {
            let w = weights.map_or(1.0, |w| w[i]);
            let d = y[i] - target[i];
            loss += f64::from(w) * f64::from(d) * f64::from(d);
            dy[i] = (2.0 * f64::from(w) * f64::from(d) / count) as f32;
        }
        let loss = (loss / count) as f32;

        // Backward.
        let grad = &mut self.grad;
        let pool = &mut self.pool;
        let dz = mlp_backward(dec, &mut grad.decoder, &self.decoder, dy, pool);
        let h0 = dec.layers[0].fan_out;
        accumulate_xt_dz(&mut grad.decoder.layers[0].w, &self.v_final, l, &dz, h0);
        let mut dv = pool.take(n * l);
        par_matmul(&mut dv, &dz, dec.layers[0].rows(0, l).t(), false);
        pool.give(dz);
        let mut de = pool.take_zeroed(n_edges * l);
        for ((block, tape), g) in net
            .blocks
            .iter()
            .zip(&self.blocks)
            .zip(&mut grad.blocks)
            .rev()
        {
            // node update: v' = v + node_mlp([v, Σ e_update])
            let mut dy = pool.take(n * l);
            dy.copy_from_slice(&dv);
            let dz = mlp_backward(&block.node, &mut g.node, &tape.node, dy, pool);
            let first = &block.node.layers[0];
            let h0 = first.fan_out;
            let (gw_v, gw_a) = g.node.layers[0].w.split_at_mut(l * h0);
            accumulate_xt_dz(gw_v, &tape.v, l, &dz, h0);
            accumulate_xt_dz(gw_a, &tape.aggregated, l, &dz, h0);
            par_matmul(&mut dv, &dz, first.rows(0, l).t(), true);
            let mut d_aggregated = pool.take(n * l);
            par_matmul(&mut d_aggregated, &dz, first.rows(l, l).t(), false);
            pool.give(dz);
            // edge update: e' = e + e_update, e_update summed into its receiver
            let r_idx = &self.receivers;
            let mut d_update = pool.take(n_edges * l);
            d_update.copy_from_slice(&de);
            d_update
                .par_chunks_mut(l)
                .enumerate()
                .with_min_len(ROWS)
                .for_each(|(k, row)| {
                    let r = r_idx[k] as usize;
                    row.iter_mut()
                        .zip(&d_aggregated[r * l..(r + 1) * l])
                        .for_each(|(d, a)| *d += a);
                });
            pool.give(d_aggregated);
            let dz = mlp_backward(&block.edge, &mut g.edge, &tape.edge, d_update, pool);
            let first = &block.edge.layers[0];
            let h0 = first.fan_out;
            let (gw_e, gw_sr) = g.edge.layers[0].w.split_at_mut(l * h0);
            let (gw_s, gw_r) = gw_sr.split_at_mut(l * h0);
            accumulate_xt_dz(gw_e, &tape.e, l, &dz, h0);
            let mut dp = pool.take(n * h0);
            segment_sum(&dz, &self.by_sender, &self.sender_offsets, &mut dp, h0);
            accumulate_xt_dz(gw_s, &tape.v, l, &dp, h0);
            par_matmul(&mut dv, &dp, first.rows(l, l).t(), true);
            segment_sum(&dz, &self.by_receiver, &self.receiver_offsets, &mut dp, h0);
            accumulate_xt_dz(gw_r, &tape.v, l, &dp, h0);
            par_matmul(&mut dv, &dp, first.rows(2 * l, l).t(), true);
            par_matmul(&mut de, &dz, first.rows(0, l).t(), true);
            pool.give(dp);
            pool.give(dz);
        }
        let enc = &net.edge_encoder;
        let dz = mlp_backward(enc, &mut grad.edge_encoder, &self.edge_encoder, de, pool);
        accumulate_xt_dz(
            &mut grad.edge_encoder.layers[0].w,
            edges,
            edge_in,
            &dz,
            enc.layers[0].fan_out,
        );
        let enc = &net.node_encoder;
        pool.give(dz);
        let dz = mlp_backward(enc, &mut grad.node_encoder, &self.node_encoder, dv, pool);
        accumulate_xt_dz(
            &mut grad.node_encoder.layers[0].w,
            nodes,
            node_in,
            &dz,
            enc.layers[0].fan_out,
        );
        let d_nodes = node_input_gradient.then(|| {
            let mut d = vec![0.0f32; n * node_in];
            par_matmul(&mut d, &dz, enc.layers[0].rows(0, node_in).t(), false);
            d
        });
        pool.give(dz);
        (loss, d_nodes)
    }

    /// One Adam step (bias-corrected moments, ε outside the root, as burn's and optax's) on
    /// the gradients of the last [`loss_and_gradients`](Self::loss_and_gradients).
    pub fn adam_step(&mut self, lr: f64, beta1: f32, beta2: f32, eps: f32) {
        self.adam.steps += 1;
        let t = self.adam.steps;
        let grads = self.grad.arrays_mut();
        let params = self.net.arrays_mut();
        params
            .into_iter()
            .zip(grads)
            .zip(self.adam.first.iter_mut().zip(self.adam.second.iter_mut()))
            .for_each(|((p, g), (m, v))| adam_update(p, g, m, v, t, lr, beta1, beta2, eps));
    }
}

/// One Adam update of `p` by gradient `g` at step `t` (1-based), moments `m`, `v` updated in
/// place: bias-corrected, ε outside the root (burn's and optax's formula).
pub(crate) fn adam_update(
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    t: i32,
    lr: f64,
    beta1: f32,
    beta2: f32,
    eps: f32,
) {
    let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
    let lr = lr as f32;
    for i in 0..p.len() {
        m[i] = beta1 * m[i] + (1.0 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
        p[i] -= lr * ((m[i] / c1) / ((v[i] / c2).sqrt() + eps));
    }
}

#[cfg(test)]
mod tests;
