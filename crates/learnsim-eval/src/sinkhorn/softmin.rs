//! The Sinkhorn update, a soft minimum over the cost matrix, computed block by block with
//! blocks that cannot matter skipped by a bound.
//!
//! out_i = −ε log Σ_j w_j exp((g_j − C_ij)/ε) = −ε log Σ_j exp((h_j − C_ij)/ε), h_j = g_j + ε ln w_j.
//!
//! For a row cell A and a column cell B the grid bounds C_ij below by d²_min(A, B), so every
//! term of the block is at most exp((max_B h − d²_min)/ε), and each row's largest term is at
//! least exp(L_A/ε), with L_A the smallest over the rows of A of the row's largest exponent
//! over the nearest column cells (computed exactly). A block with max_B h − d²_min < L_A − Tε
//! holds only terms below e^−T times the row's largest, and is skipped. With [`TRUNCATION`] =
//! 25 the skipped terms change the sum by at most M·e^−25 = 1.4e-11·M relative, so out_i by
//! at most 1.4e-11·M·ε: 1.4e-5·ε for M = 10⁶ points, three orders below the solver's 1e-2·ε
//! tolerance on the potentials, whatever the potentials. The bound is tight where the
//! potentials vary little across a cell, as they do when the clouds are near each other (a
//! rollout against its ground truth); a cloud transported far from the other keeps more
//! blocks, and the kernel degrades towards the dense one, never to an error.

use super::cloud::{Cloud, Geometry};
use rayon::prelude::*;

/// Blocks whose terms all lie below e^−T of the row's largest are skipped.
pub(super) const TRUNCATION: f64 = 25.0;

/// Rows per work item: the kept columns are gathered once per item.
const ROWS_PER_ITEM: usize = 64;

/// Extra margin, in units of ε, on the truncation when a plan is built: the plan stays valid
/// until the changes of the potentials since it was built spread over more than MARGIN·ε.
const MARGIN: f64 = 8.0;

/// The soft minimum of one row cloud over one column cloud, with the kept blocks of the last
/// call cached: at the target ε the potentials move little between iterations, so the list of
/// column points each row cell needs is reused until they have moved by more than its margin.
///
/// Why the reuse is exact: a block is left out of a plan built with threshold T + m when
/// max_B h − d²_min < L_A − (T + m)ε. If every h_j has changed by c ± δ since, with
/// 2δ ≤ mε, then max_B h and L_A have each changed by c ± δ, and the block still lies below
/// L_A − Tε.
pub(super) struct Kernel<'a> {
    geometry: &'a Geometry,
    rows: &'a Cloud,
    cols: &'a Cloud,
    plan: Option<Plan>,
}

struct Plan {
    eps: f64,
    /// The column offsets h the plan was built from.
    h: Vec<f64>,
    /// Work items: rows `start..end` and the column points they need.
    items: Vec<(usize, usize, Local)>,
}

impl<'a> Kernel<'a> {
    pub(super) fn new(geometry: &'a Geometry, rows: &'a Cloud, cols: &'a Cloud) -> Self {
        Self {
            geometry,
            rows,
            cols,
            plan: None,
        }
    }

    /// out_i for every row point (in the rows' cell order), from the columns' potential `g`.
    ///
    /// # Shapes
    /// - `g`: `[M]` in `cols`' order; returns `[N]` in `rows`' order.
    pub(super) fn softmin(&mut self, g: &[f64], eps: f64) -> Vec<f64> {
        let h: Vec<f64> = g
            .iter()
            .zip(&self.cols.log_w)
            .map(|(g, lw)| g + eps * lw)
            .collect();
        let valid = self
            .plan
            .as_ref()
            .is_some_and(|p| p.eps == eps && spread_of_change(&p.h, &h) <= MARGIN * eps);
        if !valid {
            self.plan = Some(self.build(h.clone(), eps));
        }
        let plan = self.plan.as_ref().expect("built above");
        let (rows, geometry) = (self.rows, self.geometry);
        let mut out = vec![0.0; rows.len()];
        // Items cover the rows in order, so the output splits into one slice per item.
        let mut slices = Vec::with_capacity(plan.items.len());
        let mut rest = out.as_mut_slice();
        for (start, end, _) in &plan.items {
            let (head, tail) = rest.split_at_mut(end - start);
            slices.push((*start, head));
            rest = tail;
        }
        slices.into_par_iter().zip(&plan.items).for_each_init(
            || Scratch {
                w: Vec::new(),
                hr: Vec::new(),
            },
            |scratch, ((start, out), (_, _, local))| {
                let range = start..start + out.len();
                match geometry.dim() {
                    1 => rows_softmin::<1>(rows, range, local, &h, geometry, eps, scratch, out),
                    2 => rows_softmin::<2>(rows, range, local, &h, geometry, eps, scratch, out),
                    3 => rows_softmin::<3>(rows, range, local, &h, geometry, eps, scratch, out),
                    _ => unreachable!("particle clouds are 1-, 2- or 3-dimensional"),
                }
            },
        );
        out
    }

    fn build(&self, h: Vec<f64>, eps: f64) -> Plan {
        let (geometry, rows, cols) = (self.geometry, self.rows, self.cols);
        let n_cells = geometry.n_cells();
        let mut h_max = vec![f64::NEG_INFINITY; n_cells];
        for &c in &cols.occupied {
            for &v in &h[cols.cell_start[c]..cols.cell_start[c + 1]] {
                h_max[c] = h_max[c].max(v);
            }
        }
        let h_all = h.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let blocks = Blocks {
            geometry,
            rows,
            cols,
            h: &h,
            h_max: &h_max,
            h_all,
            eps,
        };
        // Work items: the rows of one tile (contiguous in cell order), at most ROWS_PER_ITEM.
        let per_tile = geometry.cells_per_tile();
        let tiles: Vec<(usize, usize, usize)> = (0..geometry.n_tiles())
            .flat_map(|t| {
                let (s, e) = (
                    rows.cell_start[t * per_tile],
                    rows.cell_start[(t + 1) * per_tile],
                );
                (s..e)
                    .step_by(ROWS_PER_ITEM)
                    .map(move |k| (t, k, (k + ROWS_PER_ITEM).min(e)))
            })
            .collect();
        let items = tiles
            .par_iter()
            .map(|&(tile, start, end)| {
                let kept = blocks.gather(tile, start..end);
                (start, end, Local::new(rows, start, &kept))
            })
            .collect();
        Plan { eps, h, items }
    }
}

/// max − min over j of (b_j − a_j): a shift common to every h moves each block bound and the
/// rows' lower bound alike, so only the spread of the changes can invalidate a plan.
fn spread_of_change(a: &[f64], b: &[f64]) -> f64 {
    let (lo, hi) = a
        .iter()
        .zip(b)
        .map(|(u, v)| v - u)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
            (lo.min(d), hi.max(d))
        });
    hi - lo
}

struct Blocks<'a> {
    geometry: &'a Geometry,
    rows: &'a Cloud,
    cols: &'a Cloud,
    h: &'a [f64],
    h_max: &'a [f64],
    h_all: f64,
    eps: f64,
}

/// The kept column points of a work item in f32 coordinates relative to its first row: the
/// differences the cost needs are small there, so f32 holds them to ~6e-8 of the truncation
/// reach (a few √ε), i.e. the cost to ~1e-6·ε.
struct Local {
    origin: Vec<f64>,
    coords: Vec<Vec<f32>>,
    index: Vec<u32>,
}

impl Local {
    fn new(rows: &Cloud, first_row: usize, kept: &Gathered) -> Self {
        let origin: Vec<f64> = rows.coords.iter().map(|c| c[first_row]).collect();
        let coords = kept
            .coords
            .iter()
            .zip(&origin)
            .map(|(c, o)| c.iter().map(|v| (v - o) as f32).collect())
            .collect();
        Self {
            origin,
            coords,
            index: kept.index.clone(),
        }
    }
}

/// Column points of the kept blocks, structure of arrays, with their indices.
struct Gathered {
    coords: Vec<Vec<f64>>,
    h: Vec<f64>,
    index: Vec<u32>,
}

impl Blocks<'_> {
    /// The column points of every block that can matter to `rows` of tile `tile`.
    fn gather(&self, tile: usize, rows: std::ops::Range<usize>) -> Gathered {
        let g = self.geometry;
        let dim = g.dim();
        if g.n_cells() == 1 {
            // One block: kept whatever the bound says.
            let mut all = Gathered {
                coords: vec![Vec::new(); dim],
                h: Vec::new(),
                index: Vec::new(),
            };
            self.take(0, &mut all);
            return all;
        }
        let a_box = g.tile_box(tile);
        let mut b_idx = vec![0; dim];
        // L_A: the smallest over the rows of each row's largest exponent over the nearest
        // column points (a max over fewer points is still a lower bound of the row's max):
        // the cells next to the tile, or farther out until some hold columns.
        let mut near = Gathered {
            coords: vec![Vec::new(); dim],
            h: Vec::new(),
            index: Vec::new(),
        };
        let widest = g.n.iter().copied().max().unwrap_or(1);
        let mut r = 1;
        loop {
            self.for_cells(&a_box, &vec![r; dim], &mut b_idx, |b, _| {
                self.take(b, &mut near)
            });
            if !near.h.is_empty() || r >= widest {
                break;
            }
            r *= 2;
        }
        let lower = if near.h.is_empty() {
            f64::NEG_INFINITY
        } else {
            rows.map(|i| {
                let x: Vec<f64> = self.rows.coords.iter().map(|c| c[i]).collect();
                (0..near.h.len())
                    .map(|j| {
                        let c: f64 = (0..dim)
                            .map(|a| {
                                let mut d = x[a] - near.coords[a][j];
                                if let Some(l) = g.period[a] {
                                    d -= l * (d / l).round();
                                }
                                d * d
                            })
                            .sum();
                        near.h[j] - c
                    })
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .fold(f64::INFINITY, f64::min)
        };
        let floor = lower - (TRUNCATION + MARGIN) * self.eps;
        // A block is kept only if max h − d²_min ≥ floor, so d²_min ≤ h_all − floor.
        let reach = (self.h_all - floor).max(0.0).sqrt();
        let radius: Vec<usize> = (0..dim).map(|a| g.cells_within(a, reach)).collect();
        let mut out = Gathered {
            coords: vec![Vec::new(); dim],
            h: Vec::new(),
            index: Vec::new(),
        };
        self.for_cells(&a_box, &radius, &mut b_idx, |b, b_idx| {
            if self.h_max[b].is_finite() {
                let near = g.distance2_lower_bound(&a_box, b_idx);
                if self.h_max[b] - near >= floor {
                    self.take(b, &mut out);
                }
            }
        });
        out
    }

    /// Appends the column points of cell `b`.
    fn take(&self, b: usize, out: &mut Gathered) {
        let range = self.cols.cell_start[b]..self.cols.cell_start[b + 1];
        for (o, c) in out.coords.iter_mut().zip(&self.cols.coords) {
            o.extend_from_slice(&c[range.clone()]);
        }
        out.h.extend_from_slice(&self.h[range.clone()]);
        out.index.extend(range.map(|j| j as u32));
    }

    /// Calls `f(linear, per-axis indices)` for every cell within `radius[a]` cells of the box
    /// of cells `a_box` (per-axis `[lo, hi]`).
    fn for_cells(
        &self,
        a_box: &[(usize, usize)],
        radius: &[usize],
        b_idx: &mut [usize],
        mut f: impl FnMut(usize, &[usize]),
    ) {
        let g = self.geometry;
        let ranges: Vec<Vec<usize>> = (0..g.dim())
            .map(|a| g.axis_range(a, a_box[a], radius[a]))
            .collect();
        let mut pos = vec![0usize; g.dim()];
        'outer: loop {
            for a in 0..g.dim() {
                b_idx[a] = ranges[a][pos[a]];
            }
            f(g.linear(b_idx), b_idx);
            for a in 0..g.dim() {
                pos[a] += 1;
                if pos[a] < ranges[a].len() {
                    continue 'outer;
                }
                pos[a] = 0;
            }
            break;
        }
    }
}

/// The soft minimum of rows `range` over a work item's columns, in f32 relative to the item's
/// origin and to the largest column offset h₀: each term's exponent is held to ~1e-6·ε plus
/// 6e-8 of its own distance below h₀, and the terms that matter lie within (T + margin)·ε.
#[allow(clippy::too_many_arguments)]
fn rows_softmin<const D: usize>(
    rows: &Cloud,
    range: std::ops::Range<usize>,
    local: &Local,
    h: &[f64],
    geometry: &Geometry,
    eps: f64,
    scratch: &mut Scratch,
    out: &mut [f64],
) {
    let n = local.index.len();
    if n == 0 {
        out.fill(f64::INFINITY);
        return;
    }
    let h0 = local
        .index
        .iter()
        .map(|&j| h[j as usize])
        .fold(f64::NEG_INFINITY, f64::max);
    let hr = &mut scratch.hr;
    hr.clear();
    hr.extend(local.index.iter().map(|&j| (h[j as usize] - h0) as f32));
    // Every slice cut to the same length, so the compiler drops the bounds checks and
    // vectorises the cost loop.
    let y: [&[f32]; D] = std::array::from_fn(|a| &local.coords[a][..n]);
    let period: [f32; D] = std::array::from_fn(|a| geometry.period[a].unwrap_or(0.0) as f32);
    let inv_period: [f32; D] = std::array::from_fn(|a| {
        if period[a] > 0.0 {
            1.0 / period[a]
        } else {
            0.0
        }
    });
    let inv_eps = (1.0 / eps) as f32;
    let w = &mut scratch.w;
    w.clear();
    w.resize(n, 0.0);
    for (i, o) in range.zip(out.iter_mut()) {
        *o = {
            let x: [f32; D] = std::array::from_fn(|a| (rows.coords[a][i] - local.origin[a]) as f32);
            // w_j = hr_j − |x − y_j|², minimum image on periodic axes (a no-op on open axes,
            // whose inv_period is 0). Written per dimension with zipped iterators so that the
            // loop vectorises.
            let image = |d: f32, a: usize| d - period[a] * round_f32(d * inv_period[a]);
            match D {
                1 => {
                    for ((wj, hj), y0) in w.iter_mut().zip(hr.iter()).zip(y[0]) {
                        let d0 = image(x[0] - y0, 0);
                        *wj = hj - d0 * d0;
                    }
                }
                2 => {
                    for ((wj, hj), (y0, y1)) in
                        w.iter_mut().zip(hr.iter()).zip(y[0].iter().zip(y[1]))
                    {
                        let (d0, d1) = (image(x[0] - y0, 0), image(x[1] - y1, 1));
                        *wj = hj - (d0 * d0 + d1 * d1);
                    }
                }
                _ => {
                    let (ya, yb) = (y[1].iter().zip(y[D - 1]), y[0].iter());
                    for ((wj, hj), (y0, (y1, y2))) in w.iter_mut().zip(hr.iter()).zip(yb.zip(ya)) {
                        let d0 = image(x[0] - y0, 0);
                        let d1 = image(x[1] - y1, 1);
                        let d2 = image(x[D - 1] - y2, D - 1);
                        *wj = hj - (d0 * d0 + d1 * d1 + d2 * d2);
                    }
                }
            }
            let max = lanes8(w, f32::NEG_INFINITY, |m, v| if v > m { v } else { m })
                .into_iter()
                .fold(f32::NEG_INFINITY, f32::max);
            if max.is_finite() {
                let sum: f64 = lanes8(w, 0.0, |s, v| s + exp_nonpositive_f32((v - max) * inv_eps))
                    .into_iter()
                    .map(f64::from)
                    .sum();
                -(h0 + f64::from(max) + eps * sum.ln())
            } else {
                f64::INFINITY
            }
        };
    }
}

/// Buffers a worker thread reuses across work items.
struct Scratch {
    w: Vec<f32>,
    hr: Vec<f32>,
}

/// A reduction of `v` in eight independent lanes, which the compiler keeps in SIMD registers
/// (a single accumulator would serialise on its own latency and cannot be reordered).
#[inline(always)]
fn lanes8(v: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> [f32; 8] {
    let mut acc = [init; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            acc[k] = f(acc[k], c[k]);
        }
    }
    for (k, &x) in chunks.remainder().iter().enumerate() {
        acc[k] = f(acc[k], x);
    }
    acc
}

/// Round to nearest by the 1.5·2²³ trick, which vectorises on every x86-64 (|v| < 2²²).
#[inline(always)]
fn round_f32(v: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    (v + ROUND) - ROUND
}

/// e^x for x ≤ 0 in f32, branch-free: x = k ln 2 + r, |r| ≤ ln2/2, e^r by its Taylor series to
/// r⁷ (remainder < 3e-9, below f32's 6e-8 rounding), 2^k into the exponent bits; below −87
/// (where f32 turns subnormal) it returns e^−87 ≈ 1.6e-38, which no sum of terms ≥ 1 notices.
#[inline(always)]
pub(super) fn exp_nonpositive_f32(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³
    let x = x.max(-87.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let r = (x - k * 0.693_145_75) - k * 1.428_606_8e-6;
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    let shift = t.to_bits().wrapping_sub(ROUND.to_bits());
    f32::from_bits(p.to_bits().wrapping_add(shift << 23))
}

#[cfg(test)]
mod tests {

    #[test]
    fn fast_f32_exp_matches_libm_to_3e_7_relative() {
        // f32 rounding of x (6e-8 relative, so 5e-6 absolute at x = −87) dominates far out;
        // compared against the exponential of the f32 argument itself.
        for k in 0..=86_000 {
            let x = -(k as f32) * 1e-3;
            let (ours, exact) = (f64::from(super::exp_nonpositive_f32(x)), f64::from(x).exp());
            assert!(
                ((ours - exact) / exact).abs() < 3e-7,
                "exp({x}): {ours} vs {exact}"
            );
        }
    }
}
