//! Each MLP's forward pass over a tape and its backward pass written out by hand, and the pool of
//! large buffers kept from step to step.

use super::{ELEMENTS, accumulate_col_sums, accumulate_xt_dz, par_matmul};
use crate::gns::fused::{DenseMlp, LAYER_NORM_EPS, ROWS, bias_act, lane_sum};
use rayon::prelude::*;

/// Large buffers kept from step to step: without them every step maps and unmaps hundreds of
/// MB (glibc serves large blocks by mmap), and page faults and TLB shootdowns took ~15 % of a
/// step in `perf`.
#[derive(Debug, Default)]
pub(super) struct Pool(pub(super) Vec<Vec<f32>>);

impl Pool {
    /// A buffer of `len` values with arbitrary contents: for outputs written in full.
    pub(super) fn take(&mut self, len: usize) -> Vec<f32> {
        let mut v = self.0.pop().unwrap_or_default();
        v.resize(len, 0.0);
        v.truncate(len);
        v
    }

    /// A buffer of `len` zeros.
    pub(super) fn take_zeroed(&mut self, len: usize) -> Vec<f32> {
        let mut v = self.take(len);
        v.fill(0.0);
        v
    }

    /// Returns a buffer. Every buffer a step takes it gives back, so the pool's size is
    /// constant from the second step on (tested); the cap is a guard, not the mechanism.
    pub(super) fn give(&mut self, v: Vec<f32>) {
        if self.0.len() < 64 {
            self.0.push(v);
        }
    }
}

/// What an MLP's backward pass needs from its forward pass.
#[derive(Debug, Default)]
pub(super) struct MlpTape {
    /// Per layer: the output after bias and ReLU (layers before the last); for the last layer
    /// its output before LayerNorm, then normalised in place (x̂) when there is a LayerNorm.
    pub(super) acts: Vec<Vec<f32>>,
    /// Per row: 1/√(var + ε) of the LayerNorm.
    pub(super) rstd: Vec<f32>,
    pub(super) rows: usize,
}

impl MlpTape {
    /// Sizes the tape for `rows` rows and returns the first layer's output buffer, which the
    /// caller fills with the first layer's product (without bias).
    pub(super) fn first(&mut self, mlp: &DenseMlp, rows: usize) -> &mut [f32] {
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
pub(super) fn mlp_forward(mlp: &DenseMlp, tape: &mut MlpTape, out: &mut [f32]) {
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
pub(super) fn plain_mlp_forward(
    mlp: &DenseMlp,
    tape: &mut MlpTape,
    input: &[f32],
    out: &mut [f32],
) {
    let (width, first) = (mlp.d_in(), &mlp.layers[0]);
    let rows = input.len() / width.max(1);
    par_matmul(tape.first(mlp, rows), input, first.rows(0, width), false);
    mlp_forward(mlp, tape, out);
}

/// Backward through the MLP from `dy` (`[rows, d_out]`, consumed) to the gradient of the
/// first layer's pre-activation (`[rows, h0]`, returned), adding the gradients of every
/// parameter but the first layer's weight into `grad`.
pub(super) fn mlp_backward(
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
