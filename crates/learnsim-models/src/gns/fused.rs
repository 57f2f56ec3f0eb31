//! GNS inference as one fused CPU kernel: the same parameters and function as [`Gns::forward`],
//! computed on cache-sized row blocks without tensors.
//!
//! burn's `flex` backend runs the forward pass as ~20 separate tensor operations per
//! interaction block, each reading and writing the full `[E, L]` edge array and allocating a
//! fresh one; `perf` showed 12 % of the time in memmove/memset, 6 % in page faults and 15 % in
//! element-wise kernels that run on one thread (docs/performance.md). Here each block of
//! [`ROWS`] edges goes through its whole edge MLP — first-layer product, gathered node
//! projections, bias, ReLU, the next products, LayerNorm, residual — while it sits in the
//! core's cache, the blocks run in parallel on rayon's pool, the products are the `gemm`
//! crate's (through [`learnsim_kernels::matmul`]), the sum over receivers is a segmented sum
//! over receiver-sorted edges (parallel over nodes, no atomics, a fixed order), and every
//! buffer lives in a [`GnsWorkspace`] reused from call to call.

use crate::{Gns, Mlp};
use learnsim_kernels::{MatMut, MatRef, Threads, matmul};
use rayon::prelude::*;

/// Rows per cache block: 128 rows of a 128-wide f32 latent are 64 KiB per buffer.
pub(super) const ROWS: usize = 128;

/// burn's `LayerNormConfig` default, which [`MlpConfig`](crate::MlpConfig) uses.
pub(super) const LAYER_NORM_EPS: f32 = 1e-5;

/// One linear layer: `y = x·w + b`.
#[derive(Debug, Clone)]
pub(super) struct Dense {
    /// `[fan_in, fan_out]`, row-major.
    pub(super) w: Vec<f32>,
    /// `[fan_out]`.
    pub(super) b: Vec<f32>,
    pub(super) fan_in: usize,
    pub(super) fan_out: usize,
}

impl Dense {
    /// Rows `start..start + len` of the weight as a `[len, fan_out]` matrix.
    pub(super) fn rows(&self, start: usize, len: usize) -> MatRef<'_> {
        MatRef::row_major(
            &self.w[start * self.fan_out..(start + len) * self.fan_out],
            len,
            self.fan_out,
        )
    }
}

/// An [`Mlp`]'s parameters as plain arrays.
#[derive(Debug, Clone)]
pub(super) struct DenseMlp {
    pub(super) layers: Vec<Dense>,
    /// LayerNorm gain and bias.
    pub(super) norm: Option<(Vec<f32>, Vec<f32>)>,
}

fn host(t: burn::tensor::Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 parameter")
}

impl DenseMlp {
    fn from_mlp(mlp: &Mlp) -> Self {
        let (linears, norm) = mlp.parts();
        let layers = linears
            .iter()
            .map(|l| {
                let [fan_in, fan_out] = l.weight.dims();
                let w = l
                    .weight
                    .val()
                    .into_data()
                    .try_to_vec::<f32>()
                    .expect("f32 weight");
                let b = l
                    .bias
                    .as_ref()
                    .map_or_else(|| vec![0.0; fan_out], |b| host(b.val()));
                Dense {
                    w,
                    b,
                    fan_in,
                    fan_out,
                }
            })
            .collect();
        let norm = norm.map(|n| {
            let g = host(n.gamma.val());
            let b = n
                .beta
                .as_ref()
                .map_or_else(|| vec![0.0; g.len()], |b| host(b.val()));
            (g, b)
        });
        Self { layers, norm }
    }

    /// Every parameter array, in the order layer 0 weight, bias, layer 1 …, gain, bias.
    pub(super) fn arrays_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut out = Vec::new();
        for l in &mut self.layers {
            out.push(&mut l.w);
            out.push(&mut l.b);
        }
        if let Some((g, b)) = &mut self.norm {
            out.push(g);
            out.push(b);
        }
        out
    }

    pub(super) fn d_in(&self) -> usize {
        self.layers[0].fan_in
    }

    pub(super) fn d_out(&self) -> usize {
        self.layers.last().expect("an MLP has a layer").fan_out
    }

    /// The widest layer output: the scratch width per row.
    fn width(&self) -> usize {
        self.layers.iter().map(|l| l.fan_out).max().unwrap_or(0)
    }

    /// From the first layer's activated output (bias and, unless it is the last layer, ReLU
    /// applied: [`bias_act`]) in `a[..rows·h0]` to the MLP's output (LayerNorm applied), which
    /// is returned; `b` is scratch of the same size.
    fn tail<'s>(&self, rows: usize, a: &'s mut [f32], b: &'s mut [f32]) -> &'s [f32] {
        let (mut cur, mut next) = (a, b);
        let last = self.layers.len() - 1;
        for (k, layer) in self.layers.iter().enumerate().skip(1) {
            let x = &cur[..rows * layer.fan_in];
            let y = &mut next[..rows * layer.fan_out];
            matmul(
                MatMut::row_major(y, rows, layer.fan_out),
                MatRef::row_major(x, rows, layer.fan_in),
                layer.rows(0, layer.fan_in),
                false,
                Threads::One,
            );
            bias_act(y, &layer.b, k < last);
            std::mem::swap(&mut cur, &mut next);
        }
        let out = &mut cur[..rows * self.d_out()];
        if let Some((g, beta)) = &self.norm {
            layer_norm_rows(out, g, beta);
        }
        out
    }

    /// `out = mlp([inputs…])` over all rows, where the MLP's
    /// input is the concatenation of the row blocks in `inputs` (slice, width), which is never
    /// built: the first layer is applied blockwise.
    fn rows_into(&self, inputs: &[(&[f32], usize)], out: &mut [f32], scratch: &mut [f32]) {
        let d_out = self.d_out();
        let width = self.width();
        let first = &self.layers[0];
        debug_assert_eq!(inputs.iter().map(|i| i.1).sum::<usize>(), first.fan_in);
        out.par_chunks_mut(ROWS * d_out)
            .zip(scratch.par_chunks_mut(2 * ROWS * width))
            .enumerate()
            .for_each(|(chunk, (out, scratch))| {
                let rows = out.len() / d_out;
                let r0 = chunk * ROWS;
                let (a, b) = scratch.split_at_mut(ROWS * width);
                let a_first = &mut a[..rows * first.fan_out];
                let mut offset = 0;
                for (k, &(input, w)) in inputs.iter().enumerate() {
                    matmul(
                        MatMut::row_major(a_first, rows, first.fan_out),
                        MatRef::row_major(&input[r0 * w..(r0 + rows) * w], rows, w),
                        first.rows(offset, w),
                        k > 0,
                        Threads::One,
                    );
                    offset += w;
                }
                bias_act(a_first, &first.b, self.layers.len() > 1);
                out.copy_from_slice(self.tail(rows, a, b));
            });
    }
}

/// `x += bias` on each row, then ReLU when `relu` (every layer but an MLP's last). Written as
/// a select so that it vectorises.
pub(super) fn bias_act(rows: &mut [f32], bias: &[f32], relu: bool) {
    for row in rows.chunks_exact_mut(bias.len()) {
        if relu {
            row.iter_mut().zip(bias).for_each(|(x, b)| {
                let y = *x + b;
                *x = if y > 0.0 { y } else { 0.0 };
            });
        } else {
            row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
        }
    }
}

/// Sum of a row in eight independent lanes, so that the compiler can vectorise it (a plain
/// f32 fold is sequential by IEEE order).
pub(super) fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            lanes[k] += f(c[k]);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&x| f(x)).sum();
    lanes.iter().sum::<f32>() + tail
}

/// LayerNorm of each row of `x` (width `gain.len()`), with the biased variance as burn.
fn layer_norm_rows(x: &mut [f32], gain: &[f32], bias: &[f32]) {
    let width = gain.len();
    let inv = 1.0 / width as f32;
    for row in x.chunks_exact_mut(width) {
        let mean = lane_sum(row, |v| v) * inv;
        let var = lane_sum(row, |v| (v - mean) * (v - mean)) * inv;
        let rstd = 1.0 / (var + LAYER_NORM_EPS).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gain).zip(bias) {
            *v = (*v - mean) * rstd * g + b;
        }
    }
}

/// Reusable buffers of [`FusedGns::forward`]; they grow to the largest graph seen and are
/// kept, so repeated calls (a rollout) allocate nothing.
#[derive(Debug, Default)]
pub struct GnsWorkspace {
    v: Vec<f32>,
    e: Vec<f32>,
    e_update: Vec<f32>,
    v_update: Vec<f32>,
    aggregated: Vec<f32>,
    projections: Vec<f32>,
    scratch: Vec<f32>,
    senders: Vec<u32>,
    receivers: Vec<u32>,
    /// Edge ids sorted by receiver (stable), and each node's range in it.
    by_receiver: Vec<u32>,
    offsets: Vec<u32>,
}

fn grow(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// Interaction block parameters.
#[derive(Debug, Clone)]
pub(super) struct FusedBlock {
    pub(super) edge: DenseMlp,
    pub(super) node: DenseMlp,
}

/// A [`Gns`]'s parameters, copied out for the fused CPU forward pass. Build it once from a
/// trained network with [`FusedGns::new`]; it does not follow later changes to the network.
#[derive(Debug, Clone)]
pub struct FusedGns {
    pub(super) node_encoder: DenseMlp,
    pub(super) edge_encoder: DenseMlp,
    pub(super) blocks: Vec<FusedBlock>,
    pub(super) decoder: DenseMlp,
    pub(super) latent: usize,
}

impl FusedGns {
    /// Copies the network's parameters.
    pub fn new(gns: &Gns) -> Self {
        let (node_encoder, edge_encoder, processor, decoder) = gns.parts();
        let node_encoder = DenseMlp::from_mlp(node_encoder);
        let latent = node_encoder.d_out();
        Self {
            node_encoder,
            edge_encoder: DenseMlp::from_mlp(edge_encoder),
            blocks: processor
                .iter()
                .map(|block| {
                    let (edge, node) = block.parts();
                    FusedBlock {
                        edge: DenseMlp::from_mlp(edge),
                        node: DenseMlp::from_mlp(node),
                    }
                })
                .collect(),
            decoder: DenseMlp::from_mlp(decoder),
            latent,
        }
    }

    /// Every parameter array in [`Gns::map_mlps`]'s MLP order (the reference's
    /// `param_sizes`), each MLP's as [`DenseMlp::arrays_mut`].
    pub(super) fn arrays_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut out = self.node_encoder.arrays_mut();
        out.extend(self.edge_encoder.arrays_mut());
        for b in &mut self.blocks {
            out.extend(b.edge.arrays_mut());
            out.extend(b.node.arrays_mut());
        }
        out.extend(self.decoder.arrays_mut());
        out
    }

    /// These parameters written into `gns`, a network of the same sizes (for checkpoints and
    /// for inference through burn).
    ///
    /// # Panics
    /// If `gns` has other sizes.
    pub fn write_into(&self, gns: Gns, device: &burn::tensor::Device) -> Gns {
        let mut copy = self.clone();
        let mut arrays = copy.arrays_mut().into_iter();
        gns.map_mlps(&mut |mlp| {
            mlp.with_parameters(
                &mut |which| {
                    std::mem::take(
                        arrays
                            .next()
                            .unwrap_or_else(|| panic!("no fused array left for {which:?}")),
                    )
                },
                device,
            )
        })
    }

    /// Node input width.
    pub fn node_in(&self) -> usize {
        self.node_encoder.d_in()
    }

    /// Edge input width.
    pub fn edge_in(&self) -> usize {
        self.edge_encoder.d_in()
    }

    /// Output width.
    pub fn node_out(&self) -> usize {
        self.decoder.d_out()
    }

    fn scratch_width(&self) -> usize {
        let mut w = self.node_encoder.width().max(self.edge_encoder.width());
        w = w.max(self.decoder.width());
        for b in &self.blocks {
            w = w.max(b.edge.width()).max(b.node.width());
        }
        w
    }

    /// The network's output, as [`Gns::forward`].
    ///
    /// # Shapes
    /// - `nodes`: `[N, node_in]`, `edges`: `[E, edge_in]`, `senders`/`receivers`: `[E]`
    /// - returns: `[N, node_out]`
    ///
    /// # Panics
    /// If a width disagrees with the network's or an index is not a node (the message names
    /// which).
    pub fn forward(
        &self,
        nodes: &[f32],
        edges: &[f32],
        senders: &[i64],
        receivers: &[i64],
        ws: &mut GnsWorkspace,
    ) -> Vec<f32> {
        let (l, node_in, edge_in) = (self.latent, self.node_in(), self.edge_in());
        assert_eq!(
            nodes.len() % node_in.max(1),
            0,
            "fused GNS: {} node values are not rows of {node_in}",
            nodes.len()
        );
        let n = nodes.len() / node_in.max(1);
        let n_edges = senders.len();
        assert_eq!(
            receivers.len(),
            n_edges,
            "fused GNS: senders and receivers differ in length"
        );
        assert_eq!(
            edges.len(),
            n_edges * edge_in,
            "fused GNS: {} edge values for {n_edges} edges of width {edge_in}",
            edges.len()
        );
        index_list(senders, n, "sender", &mut ws.senders);
        index_list(receivers, n, "receiver", &mut ws.receivers);
        sort_by_receiver(&ws.receivers, n, &mut ws.by_receiver, &mut ws.offsets);

        let rows = n.max(n_edges).div_ceil(ROWS) * ROWS;
        let scratch = grow(&mut ws.scratch, 2 * rows * self.scratch_width());
        let v = grow(&mut ws.v, n * l);
        let e = grow(&mut ws.e, n_edges * l);
        self.node_encoder.rows_into(&[(nodes, node_in)], v, scratch);
        self.edge_encoder.rows_into(&[(edges, edge_in)], e, scratch);
        let e_update = grow(&mut ws.e_update, n_edges * l);
        let aggregated = grow(&mut ws.aggregated, n * l);
        let v_update = grow(&mut ws.v_update, n * l);
        for block in &self.blocks {
            let h0 = block.edge.layers[0].fan_out;
            let projections = grow(&mut ws.projections, 2 * n * h0);
            edge_step(
                &block.edge,
                v,
                e,
                e_update,
                projections,
                scratch,
                &ws.senders,
                &ws.receivers,
            );
            segment_sum(e_update, &ws.by_receiver, &ws.offsets, aggregated, l);
            block
                .node
                .rows_into(&[(&*v, l), (&*aggregated, l)], v_update, scratch);
            super::fused_train::par_add(v, v_update);
        }
        let mut out = vec![0.0; n * self.node_out()];
        self.decoder.rows_into(&[(v, l)], &mut out, scratch);
        out
    }
}

/// Indices as u32, each checked to be a node.
pub(super) fn index_list(indices: &[i64], n: usize, what: &str, out: &mut Vec<u32>) {
    out.clear();
    out.extend(indices.iter().enumerate().map(|(k, &i)| {
        assert!(
            (0..n as i64).contains(&i),
            "fused GNS: edge {k} has {what} {i}, outside the {n} nodes"
        );
        i as u32
    }));
}

/// Counting sort of the edge ids by receiver (stable, so each node's edges keep their order).
pub(super) fn sort_by_receiver(
    receivers: &[u32],
    n: usize,
    order: &mut Vec<u32>,
    offsets: &mut Vec<u32>,
) {
    offsets.clear();
    offsets.resize(n + 1, 0);
    for &r in receivers {
        offsets[r as usize + 1] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    order.clear();
    order.resize(receivers.len(), 0);
    let mut next: Vec<u32> = offsets[..n].to_vec();
    for (k, &r) in receivers.iter().enumerate() {
        order[next[r as usize] as usize] = k as u32;
        next[r as usize] += 1;
    }
}

/// `aggregated[i] = Σ_{edges k into i} e_update[k]`, over receiver-sorted edges.
pub(super) fn segment_sum(
    e_update: &[f32],
    order: &[u32],
    offsets: &[u32],
    aggregated: &mut [f32],
    l: usize,
) {
    aggregated
        .par_chunks_mut(ROWS * l)
        .enumerate()
        .for_each(|(chunk, out)| {
            for (i, row) in out.chunks_exact_mut(l).enumerate() {
                let node = chunk * ROWS + i;
                row.fill(0.0);
                for &k in &order[offsets[node] as usize..offsets[node + 1] as usize] {
                    let src = &e_update[k as usize * l..(k as usize + 1) * l];
                    row.iter_mut().zip(src).for_each(|(a, s)| *a += s);
                }
            }
        });
}

/// One block's edge update: `e_update = edge_mlp([e, v_s, v_r])`, then `e += e_update`.
/// The first layer is `e·W_e + (v·W_s)[s] + (v·W_r)[r] + b`, with the two node projections
/// computed once per node.
fn edge_step(
    mlp: &DenseMlp,
    v: &[f32],
    e: &mut [f32],
    e_update: &mut [f32],
    projections: &mut [f32],
    scratch: &mut [f32],
    senders: &[u32],
    receivers: &[u32],
) {
    let first = &mlp.layers[0];
    let h0 = first.fan_out;
    let l = mlp.d_out();
    let n = v.len() / l;
    let (p_s, p_r) = projections.split_at_mut(n * h0);
    for (p, block) in [(p_s, 1), (p_r, 2)] {
        matmul(
            MatMut::row_major(p, n, h0),
            MatRef::row_major(v, n, l),
            first.rows(block * l, l),
            false,
            Threads::Rayon,
        );
    }
    let (p_s, p_r) = projections.split_at(n * h0);
    let width = mlp.width();
    e.par_chunks_mut(ROWS * l)
        .zip(e_update.par_chunks_mut(ROWS * l))
        .zip(scratch.par_chunks_mut(2 * ROWS * width))
        .enumerate()
        .for_each(|(chunk, ((e, e_update), scratch))| {
            let rows = e.len() / l;
            let r0 = chunk * ROWS;
            let (a, b) = scratch.split_at_mut(ROWS * width);
            let a_first = &mut a[..rows * h0];
            matmul(
                MatMut::row_major(a_first, rows, h0),
                MatRef::row_major(e, rows, l),
                first.rows(0, l),
                false,
                Threads::One,
            );
            for (i, row) in a_first.chunks_exact_mut(h0).enumerate() {
                let s = senders[r0 + i] as usize;
                let r = receivers[r0 + i] as usize;
                let (ps, pr) = (&p_s[s * h0..(s + 1) * h0], &p_r[r * h0..(r + 1) * h0]);
                for ((x, p), q) in row.iter_mut().zip(ps).zip(pr) {
                    *x += p + q;
                }
            }
            bias_act(a_first, &first.b, mlp.layers.len() > 1);
            let y = mlp.tail(rows, a, b);
            e_update.copy_from_slice(y);
            e.iter_mut().zip(y).for_each(|(e, y)| *e += y);
        });
}
