//! The GNS's trainable part (the graph network and the particle-type embedding) and its fused
//! inference copy.

use super::GraphInput;
use crate::Gns;
use crate::{FusedGns, GnsWorkspace};
use burn::module::Module;
use burn::nn::Embedding;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// The trainable part: the GNS and the particle-type embedding.
#[derive(Module, Debug)]
pub struct GnsModel {
    pub(super) gns: Gns,
    pub(super) type_embedding: Embedding,
}

impl GnsModel {
    /// The network and the type embedding.
    pub(crate) fn parts(&self) -> (&Gns, &Embedding) {
        (&self.gns, &self.type_embedding)
    }

    /// The network and the type embedding, by value.
    pub(crate) fn into_parts(self) -> (Gns, Embedding) {
        (self.gns, self.type_embedding)
    }

    /// A model from a network and a type embedding.
    pub(crate) fn from_parts(gns: Gns, type_embedding: Embedding) -> Self {
        Self {
            gns,
            type_embedding,
        }
    }

    /// Normalised accelerations for a featurized graph.
    ///
    /// # Shapes
    /// - returns: `[N, D]`, accelerations in normalised per-frame units (`acc_normalized`)
    pub fn forward(&self, input: &GraphInput, device: &Device) -> Tensor<2> {
        let n = input.n_nodes;
        let edge_width = if input.n_edges() == 0 {
            0
        } else {
            input.edge_features.len() / input.n_edges()
        };
        let nodes = Tensor::<2>::from_data(
            TensorData::new(input.node_features.clone(), [n, input.node_width]),
            device,
        );
        let kinds =
            Tensor::<1, Int>::from_data(TensorData::new(input.kind_index.clone(), [n]), device);
        let embedded = self
            .type_embedding
            .forward(kinds.unsqueeze_dim::<2>(0))
            .squeeze_dim::<2>(0);
        let edges = Tensor::<2>::from_data(
            TensorData::new(input.edge_features.clone(), [input.n_edges(), edge_width]),
            device,
        );
        let senders = Tensor::<1, Int>::from_data(
            TensorData::new(input.senders.clone(), [input.n_edges()]),
            device,
        );
        let receivers = Tensor::<1, Int>::from_data(
            TensorData::new(input.receivers.clone(), [input.n_edges()]),
            device,
        );
        self.gns.forward(
            Tensor::cat(vec![nodes, embedded], 1),
            edges,
            senders,
            receivers,
        )
    }
}

/// A trained [`GnsModel`] copied out for the fused CPU kernel ([`FusedGns`]): the same
/// function, about twice as fast on the CPU as burn's tensor path (docs/performance.md).
#[derive(Debug)]
pub struct FusedGnsModel {
    gns: FusedGns,
    /// `[kinds, embedding width]`, row-major.
    embedding: Vec<f32>,
    embedding_width: usize,
    workspace: GnsWorkspace,
}

impl GnsModel {
    /// The network's parameters copied into a [`FusedGnsModel`].
    pub fn fused(&self) -> FusedGnsModel {
        let [_, embedding_width] = self.type_embedding.weight.dims();
        FusedGnsModel {
            gns: FusedGns::new(&self.gns),
            embedding: self
                .type_embedding
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 embedding"),
            embedding_width,
            workspace: GnsWorkspace::default(),
        }
    }
}

impl FusedGnsModel {
    /// Normalised accelerations for a featurized graph, as [`GnsModel::forward`].
    ///
    /// # Shapes
    /// - returns: `[N, D]`, row-major
    ///
    /// # Panics
    /// If a particle kind has no embedding row or the graph's widths disagree with the network.
    pub fn forward(&mut self, input: &GraphInput) -> Vec<f32> {
        let nodes = embedded_nodes(input, &self.embedding, self.embedding_width);
        self.gns.forward(
            &nodes,
            &input.edge_features,
            &input.senders,
            &input.receivers,
            &mut self.workspace,
        )
    }
}

/// The network's node input: each node's features followed by its kind's row of the
/// `[kinds, width]` embedding table, as [`GnsModel::forward`] concatenates them.
///
/// # Panics
/// If a kind index is negative or has no row in the table.
pub(crate) fn embedded_nodes(input: &GraphInput, table: &[f32], width: usize) -> Vec<f32> {
    let f = input.node_width;
    let mut nodes = Vec::with_capacity(input.n_nodes * (f + width));
    for (i, &kind) in input.kind_index.iter().enumerate() {
        let k = usize::try_from(kind).expect("a kind index is not negative");
        nodes.extend_from_slice(&input.node_features[i * f..(i + 1) * f]);
        nodes.extend_from_slice(
            table
                .get(k * width..(k + 1) * width)
                .expect("the kind has an embedding row"),
        );
    }
    nodes
}

/// The trainable network of a learned simulator, as its configuration's
/// [`Architecture`](super::Architecture) chose.
#[derive(Module, Debug)]
pub enum ParticleModel {
    /// Encode–process–decode GNS with the type embedding.
    Gns(GnsModel),
    /// The E(n)-equivariant network with the type embedding.
    Egnn(super::EgnnModel),
}

impl ParticleModel {
    /// Normalised accelerations for a featurized graph.
    ///
    /// # Shapes
    /// - returns: `[N, D]`, accelerations in normalised per-frame units
    pub fn forward(&self, input: &GraphInput, device: &Device) -> Tensor<2> {
        match self {
            Self::Gns(model) => model.forward(input, device),
            Self::Egnn(model) => model.forward(input, device),
        }
    }

    /// The GNS, if this is one.
    pub fn gns(&self) -> Option<&GnsModel> {
        match self {
            Self::Gns(model) => Some(model),
            Self::Egnn(_) => None,
        }
    }

    /// A copy for the fused CPU inference kernel, which exists for the GNS only.
    pub fn fused(&self) -> Option<FusedGnsModel> {
        self.gns().map(GnsModel::fused)
    }
}
