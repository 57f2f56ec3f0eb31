//! A [`GnsModel`] (GNS plus particle-type embedding) trained with the fused CPU kernels.

use crate::gns::adam_update;
use crate::learned_simulator::embedded_nodes;
use crate::{FusedGnsTrainer, GnsModel, GraphInput};
use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

/// Adam's state: the step count and both moments of every parameter array, in the order
/// of the network's arrays then the embedding table.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamState {
    /// Steps taken.
    pub steps: i32,
    /// First moments.
    pub first: Vec<Vec<f32>>,
    /// Second moments.
    pub second: Vec<Vec<f32>>,
}

/// [`GnsModel`] training on the CPU: the network through [`FusedGnsTrainer`], the
/// type-embedding table by the gradient of the node inputs, both with the same Adam.
#[derive(Debug)]
pub struct FusedGnsModelTrainer {
    network: FusedGnsTrainer,
    /// `[kinds, width]`, row-major.
    embedding: Vec<f32>,
    embedding_width: usize,
    embedding_grad: Vec<f32>,
    embedding_first: Vec<f32>,
    embedding_second: Vec<f32>,
}

impl GnsModel {
    /// The model's parameters copied into a trainer with fresh Adam moments.
    pub fn fused_trainer(&self) -> FusedGnsModelTrainer {
        let (gns, embedding) = self.parts();
        let [_, embedding_width] = embedding.weight.dims();
        let table = embedding
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 embedding");
        FusedGnsModelTrainer {
            network: FusedGnsTrainer::new(gns),
            embedding_grad: vec![0.0; table.len()],
            embedding_first: vec![0.0; table.len()],
            embedding_second: vec![0.0; table.len()],
            embedding: table,
            embedding_width,
        }
    }
}

impl FusedGnsModelTrainer {
    /// The masked MSE `Σ m·(y − t)² / max(Σ m, 1)` of the model on a featurized graph, as
    /// learnsim-train's loss, leaving every gradient for [`adam_step`](Self::adam_step).
    ///
    /// # Shapes
    /// - `target`, `mask`: `[N, D]`
    pub fn loss_and_gradients(&mut self, input: &GraphInput, target: &[f32], mask: &[f32]) -> f32 {
        let (f, w) = (input.node_width, self.embedding_width);
        let nodes = embedded_nodes(input, &self.embedding, w);
        let (loss, d_nodes) = self.network.loss_and_gradients(
            &nodes,
            &input.edge_features,
            &input.senders,
            &input.receivers,
            target,
            Some(mask),
            true,
        );
        let d_nodes = d_nodes.expect("asked for");
        self.embedding_grad.fill(0.0);
        for (i, &kind) in input.kind_index.iter().enumerate() {
            let k = kind as usize;
            let row = &d_nodes[i * (f + w) + f..(i + 1) * (f + w)];
            self.embedding_grad[k * w..(k + 1) * w]
                .iter_mut()
                .zip(row)
                .for_each(|(g, d)| *g += d);
        }
        loss
    }

    /// Every parameter array: the network's, then the embedding table.
    pub fn parameters_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut arrays = self.network.parameters_mut();
        arrays.push(&mut self.embedding);
        arrays
    }

    /// The gradients of the last [`loss_and_gradients`](Self::loss_and_gradients), in
    /// [`parameters_mut`](Self::parameters_mut)'s order.
    pub fn gradients_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut arrays = self.network.gradients_mut();
        arrays.push(&mut self.embedding_grad);
        arrays
    }

    /// One Adam step on every parameter, embedding included.
    pub fn adam_step(&mut self, lr: f64, beta1: f32, beta2: f32, eps: f32) {
        self.network.adam_step(lr, beta1, beta2, eps);
        adam_update(
            &mut self.embedding,
            &self.embedding_grad,
            &mut self.embedding_first,
            &mut self.embedding_second,
            self.network.adam_steps(),
            lr,
            beta1,
            beta2,
            eps,
        );
    }

    /// The trained parameters written into `model` (same sizes).
    pub fn write_into(&self, model: GnsModel, device: &Device) -> GnsModel {
        let (gns, embedding) = model.into_parts();
        let gns = self.network.write_into(gns, device);
        let rows = self.embedding.len() / self.embedding_width.max(1);
        let mut embedding = embedding;
        embedding.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(self.embedding.clone(), [rows, self.embedding_width]),
            device,
        ));
        GnsModel::from_parts(gns, embedding)
    }

    /// Adam's state, for a checkpoint.
    pub fn adam_state(&self) -> AdamState {
        let (steps, mut first, mut second) = self.network.moments();
        first.push(self.embedding_first.clone());
        second.push(self.embedding_second.clone());
        AdamState {
            steps,
            first,
            second,
        }
    }

    /// Restores Adam's state from a checkpoint.
    ///
    /// # Errors
    /// If the arrays' number or lengths differ from this model's (the message says which).
    pub fn set_adam_state(&mut self, mut state: AdamState) -> Result<(), String> {
        let (ef, es) = match (state.first.pop(), state.second.pop()) {
            (Some(f), Some(s)) => (f, s),
            _ => return Err("no moment arrays".into()),
        };
        if ef.len() != self.embedding.len() || es.len() != self.embedding.len() {
            return Err(format!(
                "the embedding's moments have {} and {} values, the model has {}",
                ef.len(),
                es.len(),
                self.embedding.len()
            ));
        }
        self.network
            .set_moments(state.steps, state.first, state.second)?;
        self.embedding_first = ef;
        self.embedding_second = es;
        Ok(())
    }
}
