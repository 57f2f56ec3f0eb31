//! The learned simulator's equivariant network: a featurized graph read as invariant scalars
//! and equivariant vectors for an [`Egnn`].

use super::{GraphInput, LearnedSimulatorConfig};
use crate::{Egnn, EgnnInput};
use burn::module::Module;
use burn::nn::Embedding;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// An [`Egnn`] and the particle-type embedding, with the layout of the node features it reads.
#[derive(Module, Debug)]
pub struct EgnnModel {
    pub(super) egnn: Egnn,
    pub(super) type_embedding: Embedding,
    #[module(skip)]
    pub(super) layout: VectorLayout,
}

/// Where the vectors are in a [`GraphInput`]'s node features, and the input that is the same
/// for every node.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorLayout {
    /// Spatial dimension D.
    pub dim: usize,
    /// Past velocities C.
    pub history: usize,
    /// Per-axis periodicity (periodic axes have no walls).
    pub periodic: Vec<bool>,
    /// Material and context columns after the motion features, read as scalars.
    pub extra: usize,
    /// `[D]` gravity in normalised acceleration units, a vector input of every node (zero
    /// without gravity), so that the model stays equivariant when the scene is rotated with its
    /// gravity.
    pub gravity: Vec<f32>,
}

impl VectorLayout {
    /// The layout of `config`'s node features, with gravity `g·dt²` per frame over the
    /// (isotropic) acceleration scale.
    pub fn new(config: &LearnedSimulatorConfig, gravity_normalized: Vec<f32>) -> Self {
        Self {
            dim: config.dim,
            history: config.history,
            periodic: config.periodic.clone(),
            extra: config.material_features + config.context_features,
            gravity: gravity_normalized,
        }
    }

    /// Vector inputs per node: the C velocities, two sums over the walls, gravity.
    pub fn vectors_in(&self) -> usize {
        self.history + 3
    }

    /// Scalar inputs per node before the type embedding: the C speeds, two sums over the
    /// walls, and the material and context columns.
    pub fn scalars_in(&self) -> usize {
        self.history + 2 + self.extra
    }

    /// Host-side scalars `[N, scalars_in]` and per-axis vectors `D × [N, vectors_in]`.
    ///
    /// Node features hold, per node, C·D velocities, then per axis its distances to the lower
    /// and upper bound over the wall horizon clipped to [−1, 1], then the extras. Each wall `w`
    /// is seen through its proximity `p_w = 1 − distance` (1 at the wall, 0 beyond the horizon)
    /// and its unit normal `n_w` pointing from the particle at it. A rotation of the box maps
    /// walls onto other walls (a quarter turn makes the ceiling a side wall), so only sums over
    /// all walls rotate with it: the vectors `Σ p_w·n_w` and `Σ p_w²·n_w` and the scalars
    /// `Σ p_w` and `Σ p_w²` (two powers, so that a particle between two walls still tells them
    /// from none). Periodic axes have no walls.
    pub fn split(&self, input: &GraphInput) -> (Vec<f32>, Vec<Vec<f32>>) {
        let (d, c) = (self.dim, self.history);
        let (s_width, k0) = (self.scalars_in(), self.vectors_in());
        let n = input.n_nodes;
        let mut scalars = Vec::with_capacity(n * s_width);
        let mut vectors = vec![Vec::with_capacity(n * k0); d];
        for row in input.node_features.chunks(input.node_width) {
            // Proximities of axis a's lower and upper wall.
            let walls = |a: usize| -> [f32; 2] {
                if self.periodic[a] {
                    [0.0; 2]
                } else {
                    [1.0 - row[c * d + 2 * a], 1.0 - row[c * d + 2 * a + 1]]
                }
            };
            for k in 0..c {
                let speed = (0..d).map(|a| row[k * d + a].powi(2)).sum::<f32>().sqrt();
                scalars.push(speed);
            }
            scalars.push((0..d).map(|a| walls(a).iter().sum::<f32>()).sum());
            scalars.push(
                (0..d)
                    .map(|a| walls(a).iter().map(|p| p * p).sum::<f32>())
                    .sum(),
            );
            scalars.extend_from_slice(&row[c * d + 2 * d..]);
            for (a, column) in vectors.iter_mut().enumerate() {
                let [lo, hi] = walls(a);
                column.extend((0..c).map(|k| row[k * d + a]));
                column.push(hi - lo);
                column.push(hi * hi - lo * lo);
                column.push(self.gravity[a]);
            }
        }
        (scalars, vectors)
    }
}

impl EgnnModel {
    /// Normalised accelerations for a featurized graph.
    ///
    /// # Shapes
    /// - returns: `[N, D]`, accelerations in normalised per-frame units
    pub fn forward(&self, input: &GraphInput, device: &Device) -> Tensor<2> {
        let layout = &self.layout;
        let (n, e, d) = (input.n_nodes, input.n_edges(), layout.dim);
        let (scalars, vectors) = layout.split(input);
        let scalars =
            Tensor::<2>::from_data(TensorData::new(scalars, [n, layout.scalars_in()]), device);
        let kinds =
            Tensor::<1, Int>::from_data(TensorData::new(input.kind_index.clone(), [n]), device);
        let embedded = self
            .type_embedding
            .forward(kinds.unsqueeze_dim::<2>(0))
            .squeeze_dim::<2>(0);
        let column = |a: usize| -> Vec<f32> {
            input
                .edge_features
                .chunks(d + 1)
                .map(|edge| edge[a])
                .collect()
        };
        let edge_tensor =
            |values: Vec<f32>| Tensor::<2>::from_data(TensorData::new(values, [e, 1]), device);
        let index = |values: &[i64]| {
            Tensor::<1, Int>::from_data(TensorData::new(values.to_vec(), [e]), device)
        };
        self.egnn.forward(EgnnInput {
            scalars: Tensor::cat(vec![scalars, embedded], 1),
            vectors: vectors
                .into_iter()
                .map(|v| {
                    Tensor::<2>::from_data(TensorData::new(v, [n, layout.vectors_in()]), device)
                })
                .collect(),
            offsets: (0..d).map(|a| edge_tensor(column(a))).collect(),
            lengths: edge_tensor(column(d)),
            senders: index(&input.senders),
            receivers: index(&input.receivers),
        })
    }
}
