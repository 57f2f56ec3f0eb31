//! PDE-Net 2.0 (Long, Lu & Dong 2019): moment-constrained 5×5 derivative filters, one SymNet
//! per field, forward-Euler time stepping.
//!
//! A filter q of derivative order (i, j) is parameterised by its moment matrix
//! M[a][b] = Σ_{x,y} q[x][y] xᵃ yᵇ / (a! b!) over offsets x, y ∈ {−2, …, 2}: q = P⁻¹ M P⁻ᵀ with
//! P[a][x] = xᵃ/a!. Moments of total order < i + j + `accuracy` are fixed (M[i][j] = 1, the
//! others 0), so the filter approximates ∂ⁱ_x ∂ʲ_y to that order for any value of the free
//! moments; `frozen` keeps every free moment at its start (fixed stencils).
//!
//! Upwinding (PDE-Net 2.0): the first-derivative filters start as the backward-biased
//! second-order upwind stencil (3f₀ − 4f₋₁ + f₋₂)/2h (free moments M₃ = −1/3, M₄ = 1/4), and
//! at every point the filter is mirrored to its forward-biased twin where the equation's
//! ∂RHS/∂(f_x) ≥ 0, so each derivative is taken from the side the information comes from. The
//! sign comes from a forward-mode derivative of the SymNet on detached inputs.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

/// The six derivative orders (i along x, j along y) of the filter bank, in feature order.
pub const DERIVATIVES: [(usize, usize); 6] = [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)];

/// Filter size.
const K: usize = 5;

/// P⁻¹ for offsets −2..=2 (P[a][x] = xᵃ/a!), by Gauss–Jordan elimination in f64.
fn moment_inverse() -> [[f64; K]; K] {
    let mut p = [[0.0; K]; K];
    let mut factorial = 1.0;
    for a in 0..K {
        if a > 0 {
            factorial *= a as f64;
        }
        for x in 0..K {
            p[a][x] = (x as f64 - 2.0).powi(a as i32) / factorial;
        }
    }
    let mut inv = [[0.0; K]; K];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..K {
        let pivot = (col..K)
            .max_by(|&r, &s| p[r][col].abs().total_cmp(&p[s][col].abs()))
            .unwrap_or(col);
        p.swap(col, pivot);
        inv.swap(col, pivot);
        let d = p[col][col];
        for c in 0..K {
            p[col][c] /= d;
            inv[col][c] /= d;
        }
        for r in 0..K {
            if r != col {
                let f = p[r][col];
                for c in 0..K {
                    p[r][c] -= f * p[col][c];
                    inv[r][c] -= f * inv[col][c];
                }
            }
        }
    }
    inv
}

/// Shape of a PDE-Net.
#[derive(Config, Debug)]
pub struct PdeNetConfig {
    /// Fields (2 for Burgers).
    pub fields: usize,
    /// Hidden (product) layers of each SymNet.
    pub hidden_layers: usize,
    /// Accuracy order of the moment constraint (2 in the paper).
    pub accuracy: usize,
    /// Fixed stencils (no free moments).
    pub frozen: bool,
    /// Grid spacing.
    pub spacing: f64,
    /// Time step of the forward-Euler update.
    pub dt: f64,
    /// Upwind first derivatives (see the module docs).
    pub upwind: bool,
}

/// One SymNet: layer k maps the features and the k products so far to two numbers whose
/// product is appended; the last layer maps everything to the output.
#[derive(Module, Debug)]
pub struct SymNet {
    layers: Vec<Linear>,
    output: Linear,
}

impl SymNet {
    /// # Shapes
    /// - `x`: `[points, inputs]` → `[points, 1]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut features = x;
        for layer in &self.layers {
            let pair = layer.forward(features.clone());
            let product = pair.clone().narrow(1, 0, 1) * pair.narrow(1, 1, 1);
            features = Tensor::cat(vec![features, product], 1);
        }
        self.output.forward(features)
    }

    /// (weight `[d_in, d_out]` row-major, bias) of every layer, the output layer last.
    pub fn layers(&self) -> Vec<(Vec<f64>, usize, usize, Vec<f64>)> {
        self.layers
            .iter()
            .chain(std::iter::once(&self.output))
            .map(|l| {
                let [d_in, d_out] = l.weight.val().dims();
                let w = l.weight.val().into_data().convert::<f64>();
                let b = l.bias.as_ref().map_or_else(
                    || vec![0.0; d_out],
                    |b| {
                        b.val()
                            .into_data()
                            .convert::<f64>()
                            .try_to_vec::<f64>()
                            .unwrap_or_default()
                    },
                );
                (w.try_to_vec::<f64>().unwrap_or_default(), d_in, d_out, b)
            })
            .collect()
    }

    /// ∂output/∂x_f at every point, by forward-mode differentiation through the products.
    ///
    /// # Shapes
    /// - `x`: `[points, inputs]` → `[points, 1]`
    pub fn tangent(&self, x: Tensor<2>, f: usize) -> Tensor<2> {
        let [points, width] = x.dims();
        let device = x.device();
        let mut row = vec![0.0f32; width];
        row[f] = 1.0;
        let mut tangent = Tensor::<2>::from_data(TensorData::new(row, [1, width]), &device)
            .expand([points, width]);
        // Detached weights: the slope only picks a stencil, it is never differentiated.
        let detached = |l: &Linear| {
            (
                l.weight.val().detach(),
                l.bias.as_ref().map(|b| b.val().detach()),
            )
        };
        let mut features = x;
        for layer in &self.layers {
            let (w, bias) = detached(layer);
            let mut pair = features.clone().matmul(w.clone());
            if let Some(bias) = bias {
                pair = pair + bias.unsqueeze_dim(0);
            }
            let dpair = tangent.clone().matmul(w);
            let (a, b) = (pair.clone().narrow(1, 0, 1), pair.narrow(1, 1, 1));
            let (da, db) = (dpair.clone().narrow(1, 0, 1), dpair.narrow(1, 1, 1));
            features = Tensor::cat(vec![features, a.clone() * b.clone()], 1);
            tangent = Tensor::cat(vec![tangent, a * db + b * da], 1);
        }
        tangent.matmul(self.output.weight.val().detach())
    }

    /// Sum of the Huber-smoothed |·| of every weight and bias (the sparsity penalty).
    pub fn huber_l1(&self, smoothing: f64) -> Tensor<1> {
        let mut total: Option<Tensor<1>> = None;
        for l in self.layers.iter().chain(std::iter::once(&self.output)) {
            let mut terms = vec![huber(l.weight.val().flatten(0, 1), smoothing)];
            if let Some(b) = &l.bias {
                terms.push(huber(b.val(), smoothing));
            }
            for t in terms {
                total = Some(match total {
                    Some(s) => s + t,
                    None => t,
                });
            }
        }
        total.unwrap_or_else(|| Tensor::zeros([1], &self.output.weight.val().device()))
    }
}

/// Σ huber(x): |x| − s/2 beyond s, x²/(2s) inside.
fn huber(x: Tensor<1>, s: f64) -> Tensor<1> {
    let a = x.abs();
    let inside = a.clone().lower_elem(s);
    let quadratic = a.clone().powi_scalar(2) / (2.0 * s);
    let linear = a - s / 2.0;
    linear.mask_where(inside, quadratic).sum()
}

/// The PDE-Net.
#[derive(Module, Debug)]
pub struct PdeNet {
    /// Free moments `[6, 5, 5]` (masked to the unconstrained entries).
    moments: Param<Tensor<3>>,
    /// 1 where a moment is free, 0 where it is fixed (or everywhere when frozen).
    free: Tensor<3>,
    /// The fixed moments (M[i][j] = 1 for filter (i, j)).
    fixed: Tensor<3>,
    /// P⁻¹ `[5, 5]`.
    inverse: Tensor<3>,
    /// 1/h^(i+j) per filter `[6, 1, 1]`.
    scale: Tensor<3>,
    symnets: Vec<SymNet>,
    #[module(skip)]
    fields: usize,
    #[module(skip)]
    upwind: bool,
    #[module(skip)]
    dt: f64,
}

impl PdeNetConfig {
    /// Builds the network: free moments at 0, SymNet weights N(0, 0.1²).
    pub fn init(&self, device: &Device) -> PdeNet {
        let n = DERIVATIVES.len();
        let mut fixed = vec![0.0f32; n * K * K];
        let mut free = vec![0.0f32; n * K * K];
        let mut scale = vec![0.0f32; n];
        for (f, &(i, j)) in DERIVATIVES.iter().enumerate() {
            fixed[f * K * K + i * K + j] = 1.0;
            scale[f] = self.spacing.powi(-((i + j) as i32)) as f32;
            for a in 0..K {
                for b in 0..K {
                    if a + b >= i + j + self.accuracy && !self.frozen {
                        free[f * K * K + a * K + b] = 1.0;
                    }
                }
            }
        }
        let mut start = vec![0.0f32; n * K * K];
        if self.upwind {
            // (3f₀ − 4f₋₁ + f₋₂)/2: moments 0, 1, 0, −1/3, 1/4 along the derivative's axis.
            for (f, axis) in [(1, 0), (2, 1)] {
                for (order, value) in [(3, -1.0 / 3.0), (4, 0.25)] {
                    let at = if axis == 0 { order * K } else { order };
                    let target = if self.frozen { &mut fixed } else { &mut start };
                    target[f * K * K + at] = value;
                }
            }
        }
        let inv = moment_inverse();
        let inverse: Vec<f32> = inv.iter().flatten().map(|&v| v as f32).collect();
        let tensor3 = |v: Vec<f32>, shape: [usize; 3]| {
            Tensor::<3>::from_data(TensorData::new(v, shape), device)
        };
        let inputs = self.fields * n;
        let linear = |d_in: usize, d_out: usize| {
            LinearConfig::new(d_in, d_out)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: 0.1,
                })
                .init(device)
        };
        let symnets = (0..self.fields)
            .map(|_| SymNet {
                layers: (0..self.hidden_layers)
                    .map(|k| linear(inputs + k, 2))
                    .collect(),
                output: linear(inputs + self.hidden_layers, 1),
            })
            .collect();
        PdeNet {
            moments: Param::from_tensor(tensor3(start, [n, K, K])),
            free: tensor3(free, [n, K, K]),
            fixed: tensor3(fixed, [n, K, K]),
            inverse: tensor3(inverse, [1, K, K]),
            scale: tensor3(scale, [n, 1, 1]),
            symnets,
            fields: self.fields,
            upwind: self.upwind,
            dt: self.dt,
        }
    }
}

impl PdeNet {
    /// The moment matrices in use `[6, 5, 5]`.
    pub fn moment_matrices(&self) -> Tensor<3> {
        self.fixed.clone() + self.free.clone() * self.moments.val()
    }

    /// The derivative filters q = P⁻¹ M P⁻ᵀ / h^(i+j), `[6, 5, 5]` indexed [filter][x][y].
    pub fn filters(&self) -> Tensor<3> {
        let n = DERIVATIVES.len();
        let inv = self.inverse.clone().expand([n, K, K]);
        inv.clone()
            .matmul(self.moment_matrices())
            .matmul(inv.swap_dims(1, 2))
            * self.scale.clone()
    }

    /// Filtered fields: every derivative of every field.
    ///
    /// # Shapes
    /// - `u`: `[batch, fields, n, n]` → `[batch, fields·6, n, n]`
    pub fn features(&self, u: Tensor<4>) -> Tensor<4> {
        let [b, c, n, m] = u.dims();
        let x = u.reshape([b * c, 1, n, m]);
        // Periodic padding by 2 along both axes.
        let x = Tensor::cat(
            vec![x.clone().narrow(2, n - 2, 2), x.clone(), x.narrow(2, 0, 2)],
            2,
        );
        let x = Tensor::cat(
            vec![x.clone().narrow(3, m - 2, 2), x.clone(), x.narrow(3, 0, 2)],
            3,
        );
        let filters = self.filters();
        let filters = if self.upwind {
            // The forward-biased twins of f_x and f_y: mirrored along their axis, negated.
            let fx = filters.clone().narrow(0, 1, 1).flip([1]).neg();
            let fy = filters.clone().narrow(0, 2, 1).flip([2]).neg();
            Tensor::cat(vec![filters, fx, fy], 0)
        } else {
            filters
        };
        let k = filters.dims()[0];
        conv2d(
            x,
            filters.unsqueeze_dim::<4>(1),
            None,
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        )
        .reshape([b, c * k, n, m])
    }

    /// The learned right-hand side u_t.
    ///
    /// # Shapes
    /// - `u`: `[batch, fields, n, n]` → `[batch, fields, n, n]`
    pub fn rhs(&self, u: Tensor<4>) -> Tensor<4> {
        let [b, c, n, m] = u.dims();
        let features = self.features(u);
        let per = features.dims()[1] / c;
        let all = features.permute([0, 2, 3, 1]).reshape([b * n * m, c * per]);
        let d = DERIVATIVES.len();
        let mut columns: Vec<Tensor<2>> = (0..c)
            .flat_map(|f| (0..d).map(move |k| (f, k)))
            .map(|(f, k)| all.clone().narrow(1, f * per + k, 1))
            .collect();
        if self.upwind {
            let central = Tensor::cat(columns.clone(), 1).detach();
            for f in 0..c {
                for (k, twin) in [(1, d), (2, d + 1)] {
                    let slope = self.symnets[f].tangent(central.clone(), f * d + k).detach();
                    let forward = all.clone().narrow(1, f * per + twin, 1);
                    let index = f * d + k;
                    columns[index] = columns[index]
                        .clone()
                        .mask_where(slope.greater_equal_elem(0.0), forward);
                }
            }
        }
        let points = Tensor::cat(columns, 1);
        let out: Vec<Tensor<2>> = self
            .symnets
            .iter()
            .map(|s| s.forward(points.clone()))
            .collect();
        Tensor::cat(out, 1)
            .reshape([b, n, m, c])
            .permute([0, 3, 1, 2])
    }

    /// One forward-Euler step u + dt·rhs(u).
    ///
    /// # Shapes
    /// - `u`: `[batch, fields, n, n]` → `[batch, fields, n, n]`
    pub fn step(&self, u: Tensor<4>) -> Tensor<4> {
        u.clone() + self.rhs(u) * self.dt
    }

    /// The SymNets, one per field.
    pub fn symnets(&self) -> &[SymNet] {
        &self.symnets
    }

    /// Huber-smoothed L1 of the free moments.
    pub fn moment_huber_l1(&self, smoothing: f64) -> Tensor<1> {
        huber(
            (self.free.clone() * self.moments.val()).flatten(0, 2),
            smoothing,
        )
    }
}
