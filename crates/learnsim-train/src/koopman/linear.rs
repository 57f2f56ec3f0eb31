//! The block-linear latent dynamics of the compositional Koopman model: per relation type one
//! A and one B, fitted by ridge least squares on the codes of a few rollouts.

use super::*;

/// Block-linear dynamics W = [A_0; B_0; A_1; B_1; …] ((D+1)·R × D), fitted per group.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockLinear {
    /// Code width.
    pub code: usize,
    /// Row-major ((D+1)·R) × D.
    pub w: Vec<f64>,
}

/// The regressors of ball i at one frame: per relation type, the sums of the related balls'
/// codes and actions (only the root is actuated).
fn regressors(codes: &[Vec<f64>], action: f64, i: usize, out: &mut [f64]) {
    let d = codes[0].len();
    out.iter_mut().for_each(|v| *v = 0.0);
    for (j, g) in codes.iter().enumerate() {
        if let Some(r) = relation(i, j) {
            let base = r * (d + 1);
            for k in 0..d {
                out[base + k] += g[k];
            }
            if j == 0 {
                out[base + d] += action;
            }
        }
    }
}

impl BlockLinear {
    /// Ridge least squares of g_{t+1} on the regressors of g_t over every ball and frame.
    pub fn fit(codes: &Codes, actions: &[&[f64]], ridge: f64) -> Self {
        let d = codes[0][0][0].len();
        let p = (d + 1) * RELATIONS;
        let mut xtx = vec![0.0; p * p];
        let mut xty = vec![0.0; p * d];
        let mut x = vec![0.0; p];
        for (c, a) in codes.iter().zip(actions) {
            for t in 0..c.len() - 1 {
                for i in 0..c[t].len() {
                    regressors(&c[t], a[t], i, &mut x);
                    let y = &c[t + 1][i];
                    for u in 0..p {
                        if x[u] == 0.0 {
                            continue;
                        }
                        for v in 0..p {
                            xtx[u * p + v] += x[u] * x[v];
                        }
                        for k in 0..d {
                            xty[u * d + k] += x[u] * y[k];
                        }
                    }
                }
            }
        }
        for u in 0..p {
            xtx[u * p + u] += ridge;
        }
        Self {
            code: d,
            w: cholesky_solve(&xtx, &xty, p, d),
        }
    }

    /// One step of every ball.
    pub fn step(&self, codes: &[Vec<f64>], action: f64) -> Vec<Vec<f64>> {
        let d = self.code;
        let p = (d + 1) * RELATIONS;
        let mut x = vec![0.0; p];
        (0..codes.len())
            .map(|i| {
                regressors(codes, action, i, &mut x);
                (0..d)
                    .map(|k| (0..p).map(|u| x[u] * self.w[u * d + k]).sum())
                    .collect()
            })
            .collect()
    }

    /// W as a tensor `[(D+1)·R, D]`.
    pub(super) fn tensor(&self, device: &Device) -> Tensor<2> {
        let p = (self.code + 1) * RELATIONS;
        Tensor::from_data(
            TensorData::new(self.w.iter().map(|&v| v as f32).collect(), [p, self.code]),
            device,
        )
    }
}

/// Solves (SPD A) X = B, A p×p, B p×m, by Cholesky.
pub(super) fn cholesky_solve(a: &[f64], b: &[f64], p: usize, m: usize) -> Vec<f64> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let s: f64 = a[i * p + j] - (0..j).map(|k| l[i * p + k] * l[j * p + k]).sum::<f64>();
            l[i * p + j] = if i == j {
                s.max(1e-300).sqrt()
            } else {
                s / l[j * p + j]
            };
        }
    }
    let mut x = b.to_vec();
    for c in 0..m {
        for i in 0..p {
            let s: f64 = x[i * m + c] - (0..i).map(|k| l[i * p + k] * x[k * m + c]).sum::<f64>();
            x[i * m + c] = s / l[i * p + i];
        }
        for i in (0..p).rev() {
            let s: f64 =
                x[i * m + c] - (i + 1..p).map(|k| l[k * p + i] * x[k * m + c]).sum::<f64>();
            x[i * m + c] = s / l[i * p + i];
        }
    }
    x
}

/// The polynomial Koopman basis of order 3 on the normalised state s (4):
/// [s, 1, s⊗s/9, s²⊗s/27] (37 entries); its first four entries decode back to s.
pub fn polynomial_basis(s: &[f64; 4]) -> Vec<f64> {
    let mut g = s.to_vec();
    g.push(1.0);
    for a in s {
        for b in s {
            g.push(a * b / 9.0);
        }
    }
    for a in s {
        for b in s {
            g.push(a * a * b / 27.0);
        }
    }
    g
}
