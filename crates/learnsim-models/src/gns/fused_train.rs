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

use super::fused::{
    DenseMlp, FusedGns, LAYER_NORM_EPS, ROWS, bias_act, index_list, lane_sum, segment_sum,
    sort_by_receiver,
};
use crate::Gns;
use burn::tensor::Device;
use learnsim_kernels::{MatMut, MatRef, Threads, matmul};
use rayon::prelude::*;

/// Row ranges of gradient sums (fixed, so that summation order is too).
const GROUPS: usize = 8;

/// `dst (= or +=) lhs · rhs` for row-major `lhs` `[m, k]` and `dst` `[m, n]`, in row blocks
/// on rayon's pool.
fn par_matmul(dst: &mut [f32], lhs: &[f32], rhs: MatRef<'_>, accumulate: bool) {
    let [k, n] = rhs.shape();
    if n == 0 || k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    dst.par_chunks_mut(ROWS * n)
        .zip(lhs.par_chunks(ROWS * k))
        .for_each(|(d, l)| {
            let rows = d.len() / n;
            matmul(
                MatMut::row_major(d, rows, n),
                MatRef::row_major(l, rows, k),
                rhs,
                accumulate,
                Threads::One,
            );
        });
}

/// Elements per parallel task of element-wise loops (64 KiB of f32).
const ELEMENTS: usize = 16 * 1024;

/// `dst += src`, element-wise, in parallel blocks.
pub(super) fn par_add(dst: &mut [f32], src: &[f32]) {
    dst.par_chunks_mut(ELEMENTS)
        .zip(src.par_chunks(ELEMENTS))
        .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d += s));
}

/// The row ranges of the [`GROUPS`] partial sums over `rows` rows.
fn group_range(g: usize, rows: usize) -> std::ops::Range<usize> {
    let per = rows.div_ceil(GROUPS);
    (g * per).min(rows)..((g + 1) * per).min(rows)
}

/// `out += xᵀ·dz` for `x` `[rows, a]` and `dz` `[rows, b]` (`out` `[a, b]`).
fn accumulate_xt_dz(out: &mut [f32], x: &[f32], a: usize, dz: &[f32], b: usize) {
    if a == 0 || b == 0 {
        return;
    }
    let rows = x.len() / a;
    let partials: Vec<Vec<f32>> = (0..GROUPS)
        .into_par_iter()
        .map(|g| {
            let r = group_range(g, rows);
            let mut p = vec![0.0f32; a * b];
            matmul(
                MatMut::row_major(&mut p, a, b),
                MatRef::row_major(&x[r.start * a..r.end * a], r.len(), a).t(),
                MatRef::row_major(&dz[r.start * b..r.end * b], r.len(), b),
                false,
                Threads::One,
            );
            p
        })
        .collect();
    for p in partials {
        out.iter_mut().zip(&p).for_each(|(o, p)| *o += p);
    }
}

/// `out[j] += Σ_rows f(i, j)` over rows of width `out.len()`, `f` given the row's values.
fn accumulate_col_sums(out: &mut [f32], rows: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let w = out.len();
    let partials: Vec<Vec<f32>> = (0..GROUPS)
        .into_par_iter()
        .map(|g| {
            let mut p = vec![0.0f32; w];
            for i in group_range(g, rows) {
                f(i, &mut p);
            }
            p
        })
        .collect();
    for p in partials {
        out.iter_mut().zip(&p).for_each(|(o, p)| *o += p);
    }
}

/// Large buffers kept from step to step: without them every step maps and unmaps hundreds of
/// MB (glibc serves large blocks by mmap), and page faults and TLB shootdowns took ~15 % of a
/// step in `perf`.
#[derive(Debug, Default)]
struct Pool(Vec<Vec<f32>>);

impl Pool {
    /// A buffer of `len` values with arbitrary contents: for outputs written in full.
    fn take(&mut self, len: usize) -> Vec<f32> {
        let mut v = self.0.pop().unwrap_or_default();
        v.resize(len, 0.0);
        v.truncate(len);
        v
    }

    /// A buffer of `len` zeros.
    fn take_zeroed(&mut self, len: usize) -> Vec<f32> {
        let mut v = self.take(len);
        v.fill(0.0);
        v
    }

    /// Returns a buffer. Every buffer a step takes it gives back, so the pool's size is
    /// constant from the second step on (tested); the cap is a guard, not the mechanism.
    fn give(&mut self, v: Vec<f32>) {
        if self.0.len() < 64 {
            self.0.push(v);
        }
    }
}

/// What an MLP's backward pass needs from its forward pass.
#[derive(Debug, Default)]
struct MlpTape {
    /// Per layer: the output after bias and ReLU (layers before the last); for the last layer
    /// its output before LayerNorm, then normalised in place (x̂) when there is a LayerNorm.
    acts: Vec<Vec<f32>>,
    /// Per row: 1/√(var + ε) of the LayerNorm.
    rstd: Vec<f32>,
    rows: usize,
}

impl MlpTape {
    /// Sizes the tape for `rows` rows and returns the first layer's output buffer, which the
    /// caller fills with the first layer's product (without bias).
    fn first(&mut self, mlp: &DenseMlp, rows: usize) -> &mut [f32] {
        self.rows = rows;
        self.acts.resize_with(mlp.layers.len(), Vec::new);
        for (a, l) in self.acts.iter_mut().zip(&mlp.layers) {
            a.resize(rows * l.fan_out, 0.0);
        }
        self.rstd.resize(rows, 0.0);
        &mut self.acts[0]
    }
}

/// The rest of the MLP's forward pass after [`MlpTape::first`] was filled; writes the output.
fn mlp_forward(mlp: &DenseMlp, tape: &mut MlpTape, out: &mut [f32]) {
    let last = mlp.layers.len() - 1;
    let rows = tape.rows;
    bias_act(&mut tape.acts[0], &mlp.layers[0].b, last > 0);
    for k in 1..=last {
        let (before, after) = tape.acts.split_at_mut(k);
        let layer = &mlp.layers[k];
        let y = &mut after[0];
        par_matmul(y, &before[k - 1], layer.rows(0, layer.fan_in), false);
        y.par_chunks_mut(ROWS * layer.fan_out)
            .for_each(|y| bias_act(y, &layer.b, k < last));
    }
    let width = mlp.d_out();
    let z = &mut tape.acts[last];
    match &mlp.norm {
        Some((gain, bias)) => {
            z.par_chunks_mut(width)
                .zip(out.par_chunks_mut(width))
                .zip(tape.rstd.par_iter_mut())
                .with_min_len(ROWS)
                .for_each(|((z, y), rstd)| {
                    let inv = 1.0 / width as f32;
                    let mean = lane_sum(z, |v| v) * inv;
                    let var = lane_sum(z, |v| (v - mean) * (v - mean)) * inv;
                    *rstd = 1.0 / (var + LAYER_NORM_EPS).sqrt();
                    for (((z, y), g), b) in z.iter_mut().zip(y.iter_mut()).zip(gain).zip(bias) {
                        *z = (*z - mean) * *rstd;
                        *y = *z * g + b;
                    }
                });
        }
        None => out[..rows * width].copy_from_slice(z),
    }
}

/// `out = mlp(input)` for an MLP whose input is one row-major array (encoders, decoder),
/// keeping the tape.
fn plain_mlp_forward(mlp: &DenseMlp, tape: &mut MlpTape, input: &[f32], out: &mut [f32]) {
    let (width, first) = (mlp.d_in(), &mlp.layers[0]);
    let rows = input.len() / width.max(1);
    par_matmul(tape.first(mlp, rows), input, first.rows(0, width), false);
    mlp_forward(mlp, tape, out);
}

/// Backward through the MLP from `dy` (`[rows, d_out]`, consumed) to the gradient of the
/// first layer's pre-activation (`[rows, h0]`, returned), adding the gradients of every
/// parameter but the first layer's weight into `grad`.
fn mlp_backward(
    mlp: &DenseMlp,
    grad: &mut DenseMlp,
    tape: &MlpTape,
    mut dz: Vec<f32>,
    pool: &mut Pool,
) -> Vec<f32> {
    let last = mlp.layers.len() - 1;
    let rows = tape.rows;
    let width = mlp.d_out();
    if let (Some((gain, _)), Some((dgain, dbias))) = (&mlp.norm, &mut grad.norm) {
        let xhat = &tape.acts[last];
        accumulate_col_sums(dbias, rows, |i, p| {
            p.iter_mut()
                .zip(&dz[i * width..(i + 1) * width])
                .for_each(|(p, d)| *p += d);
        });
        accumulate_col_sums(dgain, rows, |i, p| {
            let r = i * width..(i + 1) * width;
            for ((p, d), x) in p.iter_mut().zip(&dz[r.clone()]).zip(&xhat[r]) {
                *p += d * x;
            }
        });
        let inv = 1.0 / width as f32;
        dz.par_chunks_mut(width)
            .zip(xhat.par_chunks(width))
            .zip(tape.rstd.par_iter())
            .with_min_len(ROWS)
            .for_each(|((d, x), rstd)| {
                d.iter_mut().zip(gain).for_each(|(d, g)| *d *= g);
                let m1 = lane_sum(d, |v| v) * inv;
                let mut m2 = 0.0f32;
                let mut lanes = [0.0f32; 8];
                for (k, (d, x)) in d.iter().zip(x).enumerate() {
                    lanes[k % 8] += d * x;
                }
                for l in lanes {
                    m2 += l;
                }
                m2 *= inv;
                for (d, x) in d.iter_mut().zip(x) {
                    *d = rstd * (*d - m1 - x * m2);
                }
            });
    }
    for k in (1..=last).rev() {
        let layer = &mlp.layers[k];
        let x = &tape.acts[k - 1];
        let g = &mut grad.layers[k];
        let fo = layer.fan_out;
        accumulate_col_sums(&mut g.b, rows, |i, p| {
            p.iter_mut()
                .zip(&dz[i * fo..(i + 1) * fo])
                .for_each(|(p, d)| *p += d);
        });
        accumulate_xt_dz(&mut g.w, x, layer.fan_in, &dz, fo);
        let mut prev = pool.take(rows * layer.fan_in);
        par_matmul(&mut prev, &dz, layer.rows(0, layer.fan_in).t(), false);
        prev.par_chunks_mut(ELEMENTS)
            .zip(x.par_chunks(ELEMENTS))
            .for_each(|(p, x)| {
                p.iter_mut().zip(x).for_each(|(p, x)| {
                    *p = if *x > 0.0 { *p } else { 0.0 };
                });
            });
        pool.give(std::mem::replace(&mut dz, prev));
    }
    let h0 = mlp.layers[0].fan_out;
    accumulate_col_sums(&mut grad.layers[0].b, rows, |i, p| {
        p.iter_mut()
            .zip(&dz[i * h0..(i + 1) * h0])
            .for_each(|(p, d)| *p += d);
    });
    dz
}

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
mod tests {
    use super::*;
    use crate::{GnsConfig, default_inference_device};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    struct Problem {
        nodes: Vec<f32>,
        edges: Vec<f32>,
        senders: Vec<i64>,
        receivers: Vec<i64>,
        target: Vec<f32>,
        weights: Vec<f32>,
    }

    /// 150 nodes, 1200 random edges (several row blocks of each), a 0/1 mask on the outputs,
    /// for a 2D GNS (5 node inputs, 3 edge inputs, 2 outputs).
    fn problem(rng: &mut ChaCha8Rng) -> Problem {
        problem_sized(rng, 5, 3, 2)
    }

    /// [`problem`] with `node_in` node inputs, `edge_in` edge inputs and `out` outputs.
    fn problem_sized(rng: &mut ChaCha8Rng, node_in: usize, edge_in: usize, out: usize) -> Problem {
        let (n, e) = (150, 1200);
        let mut u =
            |k: usize| -> Vec<f32> { (0..k).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let nodes = u(n * node_in);
        let edges = u(e * edge_in);
        let target = u(n * out);
        let weights = (0..n * out)
            .map(|i| if i % 7 == 3 { 0.0 } else { 1.0 })
            .collect();
        Problem {
            nodes,
            edges,
            senders: (0..e).map(|_| rng.random_range(0..n as i64)).collect(),
            receivers: (0..e).map(|_| rng.random_range(0..n as i64)).collect(),
            target,
            weights,
        }
    }

    /// burn's autodiff gradients of every parameter, in [`FusedGns::arrays_mut`]'s order.
    fn burn_gradients(gns: &Gns, grads: &burn::optim::GradientsParams) -> Vec<Vec<f32>> {
        fn host<const D: usize>(t: Option<burn::tensor::Tensor<D>>) -> Vec<f32> {
            t.expect("a gradient for every parameter")
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32")
        }
        let (node_encoder, edge_encoder, blocks, decoder) = gns.parts();
        let mut mlps = vec![node_encoder, edge_encoder];
        for b in blocks {
            let (e, n) = b.parts();
            mlps.push(e);
            mlps.push(n);
        }
        mlps.push(decoder);
        let mut out = Vec::new();
        for mlp in mlps {
            let (layers, norm) = mlp.parts();
            for l in layers {
                out.push(host(grads.get::<2>(l.weight.id)));
                out.push(host(grads.get::<1>(l.bias.as_ref().expect("bias").id)));
            }
            if let Some(n) = norm {
                out.push(host(grads.get::<1>(n.gamma.id)));
                out.push(host(grads.get::<1>(n.beta.as_ref().expect("beta").id)));
            }
        }
        out
    }

    #[test]
    fn gradients_match_burn_autodiff() {
        // Every parameter's gradient and the node inputs' gradient, against burn's autodiff of
        // the same masked loss through the same network (two MLP depths), for a 2D GNS (3 edge
        // inputs, 2 outputs) and a 3D one (4 edge inputs, 3 outputs, which 3D datasets reach
        // through `convert` and `train`). Both are f32 and sum in different orders (gemm
        // blocking, grouped row sums over ~1200 edges); the measured gap is ~1e-6 of each
        // array's largest entry. Bound: 1e-3 of the array's largest |g| plus 1e-7, far below a
        // real mistake (a wrong mask, transpose or LayerNorm term changes entries by O(1) of
        // that scale).
        use burn::tensor::{Int, Tensor, TensorData};
        let device = crate::default_training_device();
        for ((node_in, edge_in, out), n_hidden) in [(5, 3, 2), (7, 4, 3)]
            .into_iter()
            .flat_map(|sizes| [1, 2].map(|h| (sizes, h)))
        {
            let mut rng = ChaCha8Rng::seed_from_u64(11 + n_hidden as u64);
            let gns = GnsConfig::new(node_in, edge_in, out)
                .with_latent(16)
                .with_n_hidden(n_hidden)
                .with_message_passing_steps(2)
                .init(&device);
            let p = problem_sized(&mut rng, node_in, edge_in, out);
            let (n, e) = (p.nodes.len() / node_in, p.senders.len());
            let nodes =
                Tensor::<2>::from_data(TensorData::new(p.nodes.clone(), [n, node_in]), &device)
                    .require_grad();
            let prediction = gns.forward(
                nodes.clone(),
                Tensor::from_data(TensorData::new(p.edges.clone(), [e, edge_in]), &device),
                Tensor::<1, Int>::from_data(TensorData::new(p.senders.clone(), [e]), &device),
                Tensor::<1, Int>::from_data(TensorData::new(p.receivers.clone(), [e]), &device),
            );
            let target =
                Tensor::<2>::from_data(TensorData::new(p.target.clone(), [n, out]), &device);
            let w = Tensor::<2>::from_data(TensorData::new(p.weights.clone(), [n, out]), &device);
            let count = p.weights.iter().sum::<f32>();
            let loss = ((prediction - target).powf_scalar(2.0) * w).sum() / count;
            let burn_loss: f32 = loss.clone().into_scalar();
            let gradients = loss.backward();
            let d_nodes_burn: Vec<f32> = nodes
                .grad(&gradients)
                .expect("node gradient")
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32");
            let params = burn::optim::GradientsParams::from_grads(gradients, &gns);
            let want = burn_gradients(&gns, &params);

            let mut t = FusedGnsTrainer::new(&gns);
            let (fused_loss, d_nodes) = t.loss_and_gradients(
                &p.nodes,
                &p.edges,
                &p.senders,
                &p.receivers,
                &p.target,
                Some(&p.weights),
                true,
            );
            assert!((fused_loss - burn_loss).abs() < 1e-5 * (1.0 + burn_loss.abs()));
            let mut got: Vec<Vec<f32>> =
                t.grad.arrays_mut().into_iter().map(|a| a.clone()).collect();
            got.push(d_nodes.expect("asked for"));
            let mut want = want;
            want.push(d_nodes_burn);
            assert_eq!(got.len(), want.len());
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.len(), w.len(), "array {k}");
                let scale = w.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                let gap = g
                    .iter()
                    .zip(w)
                    .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    gap <= 1e-3 * scale + 1e-7,
                    "{out}D, n_hidden {n_hidden}, array {k} (the last is the node inputs): gap {gap}, scale {scale}"
                );
            }
        }
    }

    #[test]
    fn training_steps_are_deterministic_and_write_back_into_burn() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let device = default_inference_device();
        let gns = GnsConfig::new(5, 3, 2)
            .with_latent(16)
            .with_n_hidden(1)
            .with_message_passing_steps(2)
            .init(&device);
        let p = problem(&mut rng);
        let run = || {
            let mut t = FusedGnsTrainer::new(&gns);
            let losses: Vec<f32> = (0..5)
                .map(|_| {
                    let (l, _) = t.loss_and_gradients(
                        &p.nodes,
                        &p.edges,
                        &p.senders,
                        &p.receivers,
                        &p.target,
                        Some(&p.weights),
                        false,
                    );
                    t.adam_step(1e-3, 0.9, 0.999, 1e-8);
                    l
                })
                .collect();
            (t, losses)
        };
        let (t, losses) = run();
        let (_, again) = run();
        let mut t2 = FusedGnsTrainer::new(&gns);
        let mut sizes = Vec::new();
        for _ in 0..4 {
            t2.loss_and_gradients(
                &p.nodes,
                &p.edges,
                &p.senders,
                &p.receivers,
                &p.target,
                None,
                false,
            );
            sizes.push(t2.pool.0.len());
        }
        assert!(
            sizes.windows(2).all(|w| w[0] == w[1]),
            "the buffer pool grows from step to step: {sizes:?}"
        );
        assert_eq!(losses, again, "the same inputs give the same bytes");
        assert!(losses[4] < losses[0], "Adam lowers the loss: {losses:?}");
        // The trained parameters written into burn's network give the fused forward's output
        // (same tolerance reasoning as the inference tests: f32 rounding, ~1e-6).
        let trained = t.write_into(gns.clone(), &device);
        let want = t.network().forward(
            &p.nodes,
            &p.edges,
            &p.senders,
            &p.receivers,
            &mut crate::GnsWorkspace::default(),
        );
        let n = p.nodes.len() / 5;
        let got: Vec<f32> = trained
            .forward(
                burn::tensor::Tensor::from_data(
                    burn::tensor::TensorData::new(p.nodes.clone(), [n, 5]),
                    &device,
                ),
                burn::tensor::Tensor::from_data(
                    burn::tensor::TensorData::new(p.edges.clone(), [p.senders.len(), 3]),
                    &device,
                ),
                burn::tensor::Tensor::from_data(
                    burn::tensor::TensorData::new(p.senders.clone(), [p.senders.len()]),
                    &device,
                ),
                burn::tensor::Tensor::from_data(
                    burn::tensor::TensorData::new(p.receivers.clone(), [p.senders.len()]),
                    &device,
                ),
            )
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
}
