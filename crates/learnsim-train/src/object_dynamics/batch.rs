//! Transitions, their normalisation and the batched graphs the Interaction Network trains on.

use super::Standardizer;
use super::features::GraphFeatures;
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_eval::object_dynamics::ObjectTrajectory;
use serde::{Deserialize, Serialize};

/// Every (state, Δv) transition of a trajectory set, for statistics.
pub(super) fn transitions<T: ObjectTrajectory>(
    data: &[T],
) -> impl Iterator<Item = (T::State, Vec<[f64; 2]>)> + '_ {
    data.iter()
        .flat_map(|traj| (0..traj.n_frames() - 1).map(move |t| (traj.state(t), traj.delta_v(t))))
}

/// Normalisation of the Interaction Network's inputs and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InNormalization {
    /// Object features [m, vx, vy].
    pub object: Standardizer,
    /// Relation attributes [Δx, Δy, |Δ|].
    pub relation: Standardizer,
    /// Target Δv.
    pub target: Standardizer,
}

impl InNormalization {
    /// Statistics of the training trajectories.
    pub fn fit<T: ObjectTrajectory>(train: &[T]) -> Self
    where
        T::State: GraphFeatures,
    {
        let object = Standardizer::fit(
            transitions(train).flat_map(|(b, _)| b.object_rows()),
            T::State::OBJECT_WIDTH,
        );
        let relation = Standardizer::fit(
            transitions(train).flat_map(|(b, _)| b.relation_rows().into_iter().map(|r| r.2)),
            T::State::RELATION_WIDTH,
        );
        let target = Standardizer::fit(
            transitions(train).flat_map(|(_, dv)| dv.into_iter().map(|d| d.to_vec())),
            2,
        );
        Self {
            object,
            relation,
            target,
        }
    }
}

/// A batch of systems as one graph.
pub(super) struct GraphBatch {
    pub(super) objects: Tensor<2>,
    pub(super) relations: Tensor<2>,
    pub(super) senders: Tensor<1, Int>,
    pub(super) receivers: Tensor<1, Int>,
    pub(super) sizes: Vec<usize>,
}

pub(super) fn graph_batch<S: GraphFeatures>(
    systems: &[&S],
    norm: &InNormalization,
    device: &Device,
) -> GraphBatch {
    let (mut objects, mut attrs, mut senders, mut receivers) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut sizes = Vec::with_capacity(systems.len());
    let mut offset = 0i64;
    for b in systems {
        let rows = b.object_rows();
        for row in &rows {
            norm.object.apply(row, &mut objects);
        }
        for (r, s, a) in b.relation_rows() {
            norm.relation.apply(&a, &mut attrs);
            receivers.push(offset + r as i64);
            senders.push(offset + s as i64);
        }
        offset += rows.len() as i64;
        sizes.push(rows.len());
    }
    let (n, e) = (offset as usize, senders.len());
    GraphBatch {
        objects: Tensor::from_data(TensorData::new(objects, [n, S::OBJECT_WIDTH]), device),
        relations: Tensor::from_data(TensorData::new(attrs, [e, S::RELATION_WIDTH]), device),
        senders: Tensor::from_data(TensorData::new(senders, [e]), device),
        receivers: Tensor::from_data(TensorData::new(receivers, [e]), device),
        sizes,
    }
}

pub(super) fn target_tensor(
    dvs: &[&[[f64; 2]]],
    norm: &Standardizer,
    device: &Device,
) -> Tensor<2> {
    let mut out = Vec::new();
    for dv in dvs {
        for d in *dv {
            norm.apply(d, &mut out);
        }
    }
    let rows = out.len() / 2;
    Tensor::from_data(TensorData::new(out, [rows, 2]), device)
}

/// Splits a `[Σ N, 2]` normalised prediction back into per-system Δv.
pub(super) fn unbatch(
    prediction: Tensor<2>,
    sizes: &[usize],
    norm: &Standardizer,
) -> Vec<Vec<[f64; 2]>> {
    let flat: Vec<f32> = prediction
        .into_data()
        .try_to_vec::<f32>()
        .expect("prediction is f32");
    let mut rows = flat.chunks_exact(2);
    sizes
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    let r = rows.next().expect("one row per body");
                    [norm.invert(0, r[0]), norm.invert(1, r[1])]
                })
                .collect()
        })
        .collect()
}
