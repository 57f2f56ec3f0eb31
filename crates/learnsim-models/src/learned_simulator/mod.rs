//! The learned simulator: featurize → network → decode, and decode's inverse for the targets
//! (DeepMind `learned_simulator.py`: `_encoder_preprocessor`, `_decoder_postprocessor`,
//! `_inverse_decoder_postprocessor`).
//!
//! Featurization and decoding run on the host in f64 from f32 positions: they are cheap next to
//! the network, and exact arithmetic there keeps `decode(inverse(x)) == x` to f32 rounding.

use crate::{EgnnConfig, GnsConfig};
use burn::nn::EmbeddingConfig;
use burn::tensor::Device;
use learnsim_core::{CellList, Domain, Edges, Metadata, ParticleKind, SelfEdges, Trajectory};
use serde::{Deserialize, Serialize};

mod equivariant;
mod model;

pub use equivariant::{EgnnModel, VectorLayout};
pub(crate) use model::embedded_nodes;
pub use model::{FusedGnsModel, GnsModel, ParticleModel};

/// Everything that fixes the learned simulator's inputs and network, saved with every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedSimulatorConfig {
    /// Spatial dimension.
    pub dim: usize,
    /// Number of past velocities C in the node features (GNS: 5).
    pub history: usize,
    /// Graph radius R in world units.
    pub connectivity_radius: f64,
    /// Domain bounds `[[lo, hi]; dim]`.
    pub bounds: Vec<[f64; 2]>,
    /// Per-axis periodicity.
    pub periodic: Vec<bool>,
    /// Width of the learned particle-type embedding (GNS: 16).
    pub embedding_dim: usize,
    /// GNS latent width.
    pub latent: usize,
    /// Hidden layers per MLP.
    pub n_hidden: usize,
    /// Message-passing steps.
    pub message_passing_steps: usize,
    /// Wall features saturate at this many radii: distance / (wall_horizon · R), clipped to
    /// [−1, 1]. GNS: 1 (the default of configs saved before it existed).
    #[serde(default = "one")]
    pub wall_horizon: f64,
    /// How the walls appear in the graph besides the distance features (default: only through
    /// them, as GNS).
    #[serde(default)]
    pub wall_nodes: WallNodes,
    /// Width of the static per-particle features appended to each node, as stored
    /// (geoelements' material property, tan φ); 0 = none.
    #[serde(default)]
    pub material_features: usize,
    /// Width of the per-frame global context broadcast to every node, normalised (DeepMind's
    /// `step_context`); 0 = none.
    #[serde(default)]
    pub context_features: usize,
    /// Which network maps the graph to accelerations (default, and in configs saved before
    /// the choice existed: GNS).
    #[serde(default, skip_serializing_if = "Architecture::is_gns")]
    pub architecture: Architecture,
    /// Vector channels of the equivariant network's node state (unused by GNS).
    #[serde(default = "sixteen", skip_serializing_if = "is_sixteen")]
    pub vector_channels: usize,
}

fn one() -> f64 {
    1.0
}

fn sixteen() -> usize {
    16
}

fn is_sixteen(x: &usize) -> bool {
    *x == 16
}

/// The network of a learned particle simulator: `model = "gns" | "egnn"` in a config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    /// Encode–process–decode with interaction blocks (Sanchez-Gonzalez et al. 2020), per-axis
    /// normalisation and wall distances as scalars.
    #[default]
    Gns,
    /// The E(n)-equivariant network ([`Egnn`](crate::Egnn)): velocities, walls and gravity as
    /// vectors, particle type and speeds as scalars, isotropic normalisation (see
    /// [`Normalization::isotropic`]).
    Egnn,
}

impl Architecture {
    /// The GNS.
    pub fn is_gns(&self) -> bool {
        *self == Self::Gns
    }

    /// The name a config uses, which reports and leaderboards show as the model.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gns => "gns",
            Self::Egnn => "egnn",
        }
    }
}

/// How the walls appear in the graph besides the distance features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WallNodes {
    /// Only through the distance features (GNS).
    #[default]
    None,
    /// Each particle within R of a wall also appears as its mirror image across that wall: a
    /// node of kind [`ParticleKind::Wall`] after the particles, with the mirrored velocity
    /// history, that sends edges to the particles within R of it and receives none. The wall
    /// then reaches the network as the same relative geometry that particles use with each
    /// other (the ghost particles of SPH's mirror boundaries); the network's outputs for these
    /// nodes are ignored (issue #24).
    Mirror,
}

impl LearnedSimulatorConfig {
    /// Node feature width before the type embedding: C·D velocities, 2·D wall distances, the
    /// material features and the context.
    pub fn node_width(&self) -> usize {
        self.history * self.dim + 2 * self.dim + self.material_features + self.context_features
    }
}

/// Velocity and acceleration statistics in per-frame units, noise folded into the std.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Mean of per-frame velocity.
    pub vel_mean: Vec<f64>,
    /// Std of per-frame velocity, combined in quadrature with the noise std.
    pub vel_std: Vec<f64>,
    /// Mean of per-frame acceleration.
    pub acc_mean: Vec<f64>,
    /// Std of per-frame acceleration, combined in quadrature with the noise std.
    pub acc_std: Vec<f64>,
    /// Mean of each global-context column (empty without a context).
    #[serde(default)]
    pub context_mean: Vec<f64>,
    /// Std of each global-context column.
    #[serde(default)]
    pub context_std: Vec<f64>,
}

impl Normalization {
    /// Statistics that commute with rotations and reflections, for the equivariant network:
    /// no velocity mean, one velocity and one acceleration scale for every axis (the root mean
    /// square of the per-axis stds, noise folded in), and gravity `g·dt²` as the acceleration
    /// offset (a vector input of the network, so that it rotates with the scene).
    pub fn isotropic(metadata: &Metadata, noise_std: f64) -> Self {
        let per_axis = Self::from_metadata(metadata, noise_std);
        let rms = |s: &[f64]| {
            let mean_square = s.iter().map(|x| x * x).sum::<f64>() / s.len().max(1) as f64;
            vec![mean_square.sqrt(); s.len()]
        };
        Self {
            vel_mean: vec![0.0; metadata.dim],
            vel_std: rms(&per_axis.vel_std),
            acc_mean: {
                let mut g = metadata.gravity_per_frame();
                g.resize(metadata.dim, 0.0);
                g
            },
            acc_std: rms(&per_axis.acc_std),
            ..per_axis
        }
    }

    /// From a dataset's metadata; `noise_std` is the training noise σ at the last velocity,
    /// combined in quadrature as GNS does so that normalised inputs keep unit scale.
    pub fn from_metadata(metadata: &Metadata, noise_std: f64) -> Self {
        let quad = |s: &Vec<f64>| {
            s.iter()
                .map(|s| (s * s + noise_std * noise_std).sqrt())
                .collect()
        };
        Self {
            vel_mean: metadata.vel_mean.clone(),
            vel_std: quad(&metadata.vel_std),
            acc_mean: metadata.acc_mean.clone(),
            acc_std: quad(&metadata.acc_std),
            context_mean: metadata.features.context_mean.clone(),
            context_std: metadata.features.context_std.clone(),
        }
    }
}

/// What a graph's nodes carry besides the particles' motion and walls.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodeExtras<'a> {
    /// `[N, F]` static per-particle features, as stored (appended unnormalised, as geoelements
    /// appends tan φ).
    pub material: &'a [f32],
    /// `[C]` the last input frame's global context, as stored (normalised when featurized,
    /// then broadcast to every node, as DeepMind's encoder does).
    pub context: &'a [f32],
}

impl NodeExtras<'_> {
    /// Nothing besides motion and walls.
    pub const NONE: NodeExtras<'static> = NodeExtras {
        material: &[],
        context: &[],
    };
}

/// A featurized graph (one or several particle systems concatenated), ready for the network.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphInput {
    /// Number of nodes N.
    pub n_nodes: usize,
    /// Node feature width F.
    pub node_width: usize,
    /// `[N, F]` normalised velocities, then distances to the lower and upper bounds over
    /// `wall_horizon · R`, clipped to [−1, 1], then the material features and the normalised
    /// global context when the configuration has them.
    pub node_features: Vec<f32>,
    /// `[N]` index of each particle's kind in [`ParticleKind::ALL`].
    pub kind_index: Vec<i64>,
    /// `[E, D + 1]`: (x_s − x_r)/R and its norm.
    pub edge_features: Vec<f32>,
    /// `[E]` sender per edge.
    pub senders: Vec<i64>,
    /// `[E]` receiver per edge.
    pub receivers: Vec<i64>,
}

impl GraphInput {
    /// Several graphs as one, with node indices offset (a batch).
    pub fn concat(graphs: &[GraphInput]) -> GraphInput {
        let mut out = GraphInput {
            node_width: graphs.first().map_or(0, |g| g.node_width),
            ..Default::default()
        };
        for g in graphs {
            let offset = out.n_nodes as i64;
            out.node_features.extend_from_slice(&g.node_features);
            out.kind_index.extend_from_slice(&g.kind_index);
            out.edge_features.extend_from_slice(&g.edge_features);
            out.senders.extend(g.senders.iter().map(|s| s + offset));
            out.receivers.extend(g.receivers.iter().map(|r| r + offset));
            out.n_nodes += g.n_nodes;
        }
        out
    }

    /// Number of edges.
    pub fn n_edges(&self) -> usize {
        self.senders.len()
    }
}

/// Featurize, decode and inverse for one configuration and normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedSimulator {
    /// Inputs and network sizes.
    pub config: LearnedSimulatorConfig,
    /// Statistics the inputs and outputs are normalised with.
    pub normalization: Normalization,
}

impl LearnedSimulator {
    /// Builds the network this configuration's [`Architecture`] names.
    ///
    /// The equivariant network reads gravity as `acc_mean / acc_std`: its normalisation must be
    /// [`Normalization::isotropic`], whose offset is gravity.
    pub fn init_network(&self, device: &Device) -> ParticleModel {
        let c = &self.config;
        match c.architecture {
            Architecture::Gns => ParticleModel::Gns(self.init_model(device)),
            Architecture::Egnn => {
                let norm = &self.normalization;
                let gravity = (0..c.dim)
                    .map(|a| (norm.acc_mean[a] / norm.acc_std[a]) as f32)
                    .collect();
                let layout = VectorLayout::new(c, gravity);
                ParticleModel::Egnn(EgnnModel {
                    egnn: EgnnConfig::new(
                        layout.scalars_in() + c.embedding_dim,
                        layout.vectors_in(),
                    )
                    .with_latent(c.latent)
                    .with_vector_channels(c.vector_channels)
                    .with_n_hidden(c.n_hidden)
                    .with_layers(c.message_passing_steps)
                    .init(device),
                    type_embedding: EmbeddingConfig::new(ParticleKind::ALL.len(), c.embedding_dim)
                        .init(device),
                    layout,
                })
            }
        }
    }

    /// Builds a GNS for this configuration, whatever its architecture.
    pub fn init_model(&self, device: &Device) -> GnsModel {
        let c = &self.config;
        let node_in = c.node_width() + c.embedding_dim;
        GnsModel {
            gns: GnsConfig::new(node_in, c.dim + 1, c.dim)
                .with_latent(c.latent)
                .with_n_hidden(c.n_hidden)
                .with_message_passing_steps(c.message_passing_steps)
                .init(device),
            type_embedding: EmbeddingConfig::new(ParticleKind::ALL.len(), c.embedding_dim)
                .init(device),
        }
    }

    fn displacement(&self, a: f64, b: f64, axis: usize) -> f64 {
        let d = a - b;
        if self.config.periodic[axis] {
            let [lo, hi] = self.config.bounds[axis];
            let length = hi - lo;
            d - length * (d / length).round()
        } else {
            d
        }
    }

    fn wrap(&self, x: f64, axis: usize) -> f64 {
        if self.config.periodic[axis] {
            let [lo, hi] = self.config.bounds[axis];
            lo + (x - lo).rem_euclid(hi - lo)
        } else {
            x
        }
    }

    /// Node and edge features from the last `history + 1` frames (oldest first, each `[N·D]`),
    /// for a configuration without material features or context.
    pub fn featurize(&self, frames: &[&[f32]], kinds: &[ParticleKind]) -> GraphInput {
        self.featurize_with_extras(frames, kinds, NodeExtras::NONE)
    }

    /// [`featurize`](Self::featurize) with the material features and context the
    /// configuration reads.
    pub fn featurize_with_extras(
        &self,
        frames: &[&[f32]],
        kinds: &[ParticleKind],
        extras: NodeExtras,
    ) -> GraphInput {
        let last = frames.last().expect("featurize needs history + 1 frames");
        let edges = self.radius_edges(last);
        self.featurize_with_edges(frames, kinds, extras, &edges)
    }

    /// The extras this configuration reads from `trajectory` when its last input frame is
    /// `last_input`: its material features and that frame's context row.
    ///
    /// # Panics
    /// If the trajectory lacks a feature the configuration reads, or has it at another width
    /// (trainers and evaluators check the dataset first).
    pub fn extras<'a>(&self, trajectory: &'a Trajectory, last_input: usize) -> NodeExtras<'a> {
        let c = &self.config;
        let material = if c.material_features > 0 {
            assert_eq!(
                trajectory.material.width, c.material_features,
                "the trajectory's material features"
            );
            trajectory.material.values.as_slice()
        } else {
            &[]
        };
        let context = if c.context_features > 0 {
            assert_eq!(
                trajectory.step_context.width, c.context_features,
                "the trajectory's step context"
            );
            trajectory.step_context.row(last_input)
        } else {
            &[]
        };
        NodeExtras { material, context }
    }

    /// [`featurize_with_extras`](Self::featurize_with_extras) with the radius graph of the last
    /// frame given (from [`radius_edges`](Self::radius_edges)), so that a caller can time the
    /// two apart.
    ///
    /// # Panics
    /// If the frames or extras do not match the configuration's sizes.
    pub fn featurize_with_edges(
        &self,
        frames: &[&[f32]],
        kinds: &[ParticleKind],
        extras: NodeExtras,
        edges: &Edges,
    ) -> GraphInput {
        let c = &self.config;
        let (dim, n) = (c.dim, kinds.len());
        assert_eq!(
            frames.len(),
            c.history + 1,
            "featurize needs history + 1 frames"
        );
        assert_eq!(
            extras.material.len(),
            n * c.material_features,
            "material features"
        );
        assert_eq!(extras.context.len(), c.context_features, "context features");
        let norm = &self.normalization;
        let context: Vec<f32> = extras
            .context
            .iter()
            .enumerate()
            .map(|(k, &v)| ((f64::from(v) - norm.context_mean[k]) / norm.context_std[k]) as f32)
            .collect();
        let r = c.connectivity_radius;
        let node_width = c.node_width();
        let mut node_features = Vec::with_capacity(n * node_width);
        let last = frames[c.history];
        for p in 0..n {
            self.push_motion_features(&mut node_features, |k, a| f64::from(frames[k][p * dim + a]));
            let f = c.material_features;
            node_features.extend_from_slice(&extras.material[p * f..(p + 1) * f]);
            node_features.extend_from_slice(&context);
        }
        let mut edge_features = Vec::with_capacity(edges.len() * (dim + 1));
        for (&s, &rcv) in edges.senders.iter().zip(&edges.receivers) {
            let (s, rcv) = (s as usize, rcv as usize);
            let mut sq = 0.0;
            for a in 0..dim {
                let d =
                    self.displacement(last[s * dim + a] as f64, last[rcv * dim + a] as f64, a) / r;
                sq += d * d;
                edge_features.push(d as f32);
            }
            edge_features.push(sq.sqrt() as f32);
        }
        let kind_of =
            |k: &ParticleKind| ParticleKind::ALL.iter().position(|x| x == k).unwrap_or(0) as i64;
        let mut graph = GraphInput {
            n_nodes: n,
            node_width,
            node_features,
            kind_index: kinds.iter().map(kind_of).collect(),
            edge_features,
            senders: edges.senders.iter().map(|&s| s as i64).collect(),
            receivers: edges.receivers.iter().map(|&r| r as i64).collect(),
        };
        if c.wall_nodes == WallNodes::Mirror {
            self.add_mirror_nodes(&mut graph, frames, kinds, kind_of(&ParticleKind::Wall));
        }
        graph
    }

    /// Pushes one node's motion features: its `history` normalised velocities, then its
    /// distances to the lower and upper bounds over `wall_horizon · R`, clipped to [−1, 1]
    /// (zeros on periodic axes). `position(k, a)` is coordinate `a` of input frame `k`.
    fn push_motion_features(
        &self,
        features: &mut Vec<f32>,
        position: impl Fn(usize, usize) -> f64,
    ) {
        let c = &self.config;
        let norm = &self.normalization;
        for k in 0..c.history {
            for a in 0..c.dim {
                let v = self.displacement(position(k + 1, a), position(k, a), a);
                features.push(((v - norm.vel_mean[a]) / norm.vel_std[a]) as f32);
            }
        }
        let wall_scale = c.wall_horizon * c.connectivity_radius;
        for a in 0..c.dim {
            let x = position(c.history, a);
            let [lo, hi] = c.bounds[a];
            // Distances to the walls matter only on walled axes; periodic axes carry zeros.
            let (to_lo, to_hi) = if c.periodic[a] {
                (0.0, 0.0)
            } else {
                ((x - lo) / wall_scale, (hi - x) / wall_scale)
            };
            features.push(to_lo.clamp(-1.0, 1.0) as f32);
            features.push(to_hi.clamp(-1.0, 1.0) as f32);
        }
    }

    /// Appends the mirror image of every free particle within R of a wall (see
    /// [`WallNodes::Mirror`]): node features as a particle's, computed from the mirrored
    /// frames, and edges from each image to the particles within R of it.
    fn add_mirror_nodes(
        &self,
        graph: &mut GraphInput,
        frames: &[&[f32]],
        kinds: &[ParticleKind],
        wall_kind: i64,
    ) {
        let c = &self.config;
        let (dim, r) = (c.dim, c.connectivity_radius);
        let last = frames[c.history];
        let width = graph.node_width;
        let motion = c.history * dim + 2 * dim;
        for a in (0..dim).filter(|&a| !c.periodic[a]) {
            for wall in c.bounds[a] {
                let near: Vec<usize> = (0..kinds.len())
                    .filter(|&p| {
                        !kinds[p].is_kinematic() && (f64::from(last[p * dim + a]) - wall).abs() < r
                    })
                    .collect();
                for &p in &near {
                    let image = graph.n_nodes as i64;
                    let mirrored = |k: usize, b: usize| -> f64 {
                        let x = f64::from(frames[k][p * dim + b]);
                        if b == a { 2.0 * wall - x } else { x }
                    };
                    self.push_motion_features(&mut graph.node_features, mirrored);
                    // Material and context as the particle's own.
                    let own = p * width + motion..(p + 1) * width;
                    graph.node_features.extend_from_within(own);
                    graph.kind_index.push(wall_kind);
                    graph.n_nodes += 1;
                    for &q in &near {
                        let mut d = [0.0f64; 3];
                        for (b, d) in d.iter_mut().enumerate().take(dim) {
                            let x = f64::from(last[q * dim + b]);
                            *d = self.displacement(mirrored(c.history, b), x, b) / r;
                        }
                        let norm2 = d.iter().map(|x| x * x).sum::<f64>();
                        if norm2 < 1.0 {
                            graph
                                .edge_features
                                .extend(d[..dim].iter().map(|&x| x as f32));
                            graph.edge_features.push(norm2.sqrt() as f32);
                            graph.senders.push(image);
                            graph.receivers.push(q as i64);
                        }
                    }
                }
            }
        }
    }

    /// The radius graph of one frame, self-edges included (as DeepMind's KD-tree query).
    pub fn radius_edges(&self, frame: &[f32]) -> Edges {
        let c = &self.config;
        fn build<const D: usize>(c: &LearnedSimulatorConfig, frame: &[f32]) -> Edges {
            let domain = Domain::<D>::new(
                std::array::from_fn(|a| c.bounds[a][0]),
                std::array::from_fn(|a| c.bounds[a][1]),
                std::array::from_fn(|a| c.periodic[a]),
            )
            .expect("bounds validated with the metadata");
            let points: Vec<[f64; D]> = frame
                .chunks(D)
                .map(|x| std::array::from_fn(|a| x[a] as f64))
                .collect();
            CellList::new(domain, c.connectivity_radius)
                .expect("radius validated with the metadata")
                .edges(&points, SelfEdges::Include)
        }
        match c.dim {
            2 => build::<2>(c, frame),
            3 => build::<3>(c, frame),
            d => panic!("learned simulators support 2 or 3 dimensions, got {d}"),
        }
    }

    /// Next positions from normalised accelerations: semi-implicit Euler with dt = 1 in frame
    /// units, v' = v + a, x' = x + v'.
    pub fn decode(&self, acc_normalized: &[f32], previous: &[f32], current: &[f32]) -> Vec<f32> {
        let dim = self.config.dim;
        let norm = &self.normalization;
        current
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let a = k % dim;
                let acc = acc_normalized[k] as f64 * norm.acc_std[a] + norm.acc_mean[a];
                let v = self.displacement(x as f64, previous[k] as f64, a) + acc;
                self.wrap(x as f64 + v, a) as f32
            })
            .collect()
    }

    /// The normalised acceleration that `decode` turns into `next`: the training target.
    pub fn inverse(&self, next: &[f32], previous: &[f32], current: &[f32]) -> Vec<f32> {
        let dim = self.config.dim;
        let norm = &self.normalization;
        current
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let a = k % dim;
                let acc = self.displacement(next[k] as f64, x as f64, a)
                    - self.displacement(x as f64, previous[k] as f64, a);
                ((acc - norm.acc_mean[a]) / norm.acc_std[a]) as f32
            })
            .collect()
    }
}
