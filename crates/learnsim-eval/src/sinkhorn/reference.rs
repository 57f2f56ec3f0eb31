//! The dense solver learnsim used before the multiscale one, kept as the reference the fast
//! solver is tested and benchmarked against (`learnsim bench sinkhorn`).
//!
//! Log domain with ε-scaling: ε starts at the squared diameter of the clouds and halves every
//! iteration down to the target, after which it iterates at the target until the dual
//! potentials move by less than `1e-4·ε` or 100 iterations have passed. Every iteration
//! evaluates the whole N × M cost matrix in f64, twice: O(N²) per iteration, about 17 s per
//! divergence at N = 2,000 on two cores. On the POT/numpy fixture (ε ≈ 0.1 × spacing²) the cap
//! leaves S up to 1.9e-3·ε off the converged value.

use rayon::prelude::*;

/// Iterations at the target ε before the solver gives up on the `1e-4·ε` tolerance.
const MAX_ITERATIONS_AT_TARGET: usize = 100;

/// Debiased Sinkhorn divergence S_ε(x, y) = OT_ε(x, y) − ½ OT_ε(x, x) − ½ OT_ε(y, y).
///
/// # Shapes
/// - `x`: `[N·D]` positions, `y`: `[M·D]` positions.
/// - `period[a]`: the box length of axis `a` if it is periodic.
///
/// `epsilon` is the entropic regularisation in squared length units; callers pass the squared
/// mean particle spacing, which blurs the transport plan over about one neighbour.
pub fn sinkhorn_divergence(
    x: &[f32],
    y: &[f32],
    dim: usize,
    period: &[Option<f64>],
    epsilon: f64,
) -> f64 {
    assert!(epsilon > 0.0, "epsilon must be positive");
    let (x, y) = (to_points(x, dim), to_points(y, dim));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let ot = |a: &[Vec<f64>], b: &[Vec<f64>]| entropic_ot(a, b, period, epsilon);
    ot(&x, &y) - 0.5 * ot(&x, &x) - 0.5 * ot(&y, &y)
}

fn to_points(flat: &[f32], dim: usize) -> Vec<Vec<f64>> {
    flat.chunks_exact(dim)
        .map(|p| p.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

fn cost(a: &[f64], b: &[f64], period: &[Option<f64>]) -> f64 {
    a.iter()
        .zip(b)
        .enumerate()
        .map(|(k, (u, v))| {
            let mut d = u - v;
            if let Some(Some(l)) = period.get(k) {
                d -= l * (d / l).round();
            }
            d * d
        })
        .sum()
}

/// Log-sum-exp update: out_i = −ε log Σ_j (1/m) exp((g_j − C_ij)/ε).
///
/// Two passes without allocation: the maximum, then the sum of the terms within e^-40 of it
/// (smaller ones change the sum by less than 1e-17 relative, and computing their underflowing
/// exponentials was most of the metric's time).
fn softmin(
    rows: &[Vec<f64>],
    cols: &[Vec<f64>],
    g: &[f64],
    period: &[Option<f64>],
    eps: f64,
) -> Vec<f64> {
    let log_m = (cols.len() as f64).ln();
    rows.par_iter()
        .map(|r| {
            let z = |(c, gj): (&Vec<f64>, &f64)| (gj - cost(r, c, period)) / eps;
            let max = cols.iter().zip(g).map(z).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = cols
                .iter()
                .zip(g)
                .map(|p| z(p) - max)
                .filter(|d| *d > -40.0)
                .map(f64::exp)
                .sum();
            -eps * (max + sum.ln() - log_m)
        })
        .collect()
}

/// OT_ε with uniform weights: ⟨a, f⟩ + ⟨b, g⟩ at the converged dual potentials.
fn entropic_ot(a: &[Vec<f64>], b: &[Vec<f64>], period: &[Option<f64>], epsilon: f64) -> f64 {
    let diameter2 = a
        .iter()
        .chain(b)
        .map(|p| cost(p, &a[0], period))
        .fold(0.0, f64::max)
        * 4.0;
    let mut eps = diameter2.max(epsilon);
    let mut f = vec![0.0; a.len()];
    let mut g = vec![0.0; b.len()];
    let mut at_target = 0;
    while at_target < MAX_ITERATIONS_AT_TARGET {
        let f_new = softmin(a, b, &g, period, eps);
        let g_new = softmin(b, a, &f_new, period, eps);
        let moved = f_new
            .iter()
            .zip(&f)
            .chain(g_new.iter().zip(&g))
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f64::max);
        f = f_new;
        g = g_new;
        if eps <= epsilon {
            at_target += 1;
            if moved < 1e-4 * epsilon {
                break;
            }
        }
        eps = (eps * 0.5).max(epsilon);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    mean(&f) + mean(&g)
}
