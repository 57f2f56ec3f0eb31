//! Thread-count-independent parallel kernels: matrix products over row blocks and gradient sums
//! over fixed row groups.

use crate::gns::fused::ROWS;
use learnsim_kernels::{MatMut, MatRef, Threads, matmul};
use rayon::prelude::*;

/// Row ranges of gradient sums (fixed, so that summation order is too).
pub(super) const GROUPS: usize = 8;

/// `dst (= or +=) lhs · rhs` for row-major `lhs` `[m, k]` and `dst` `[m, n]`, in row blocks
/// on rayon's pool.
pub(super) fn par_matmul(dst: &mut [f32], lhs: &[f32], rhs: MatRef<'_>, accumulate: bool) {
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
pub(super) const ELEMENTS: usize = 16 * 1024;

/// `dst += src`, element-wise, in parallel blocks.
pub(crate) fn par_add(dst: &mut [f32], src: &[f32]) {
    dst.par_chunks_mut(ELEMENTS)
        .zip(src.par_chunks(ELEMENTS))
        .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d += s));
}

/// The row ranges of the [`GROUPS`] partial sums over `rows` rows.
pub(super) fn group_range(g: usize, rows: usize) -> std::ops::Range<usize> {
    let per = rows.div_ceil(GROUPS);
    (g * per).min(rows)..((g + 1) * per).min(rows)
}

/// `out += xᵀ·dz` for `x` `[rows, a]` and `dz` `[rows, b]` (`out` `[a, b]`).
pub(super) fn accumulate_xt_dz(out: &mut [f32], x: &[f32], a: usize, dz: &[f32], b: usize) {
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
pub(super) fn accumulate_col_sums(
    out: &mut [f32],
    rows: usize,
    f: impl Fn(usize, &mut [f32]) + Sync,
) {
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
