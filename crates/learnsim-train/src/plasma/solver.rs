//! The Aguilar–Markidis field solve: a trained network in place of the PIC's Poisson solve, and the
//! two networks' constructors.

use super::{FieldNetwork, FieldPairs, FieldScale, PlasmaConfig, relative_l2, rms};
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{Mlp, MlpConfig, PeriodicCnn, PeriodicCnnConfig};
use learnsim_sim::plasma::FieldSolver;

/// The Aguilar–Markidis field solve: a trained network in place of the Poisson solve.
#[derive(Debug, Clone)]
pub struct LearnedSolver<M> {
    network: M,
    scale: FieldScale,
    /// Nodes per axis.
    cells: usize,
    device: Device,
}

impl<M: FieldNetwork> LearnedSolver<M> {
    /// `network` for grids of `cells` nodes per axis, on an inference `device`.
    pub fn new(network: M, scale: FieldScale, cells: usize, device: Device) -> Self {
        Self {
            network,
            scale,
            cells,
            device,
        }
    }

    /// E of every row of `rho` (box lengths `length`), one batch.
    ///
    /// # Shapes
    /// - `rho`: `[batch][cells^D]` → `[batch][D × cells^D]`
    pub fn predict(&self, rho: &[Vec<f64>], length: &[f64]) -> Vec<Vec<f64>> {
        let nodes = rho[0].len();
        let mut out = Vec::with_capacity(rho.len());
        for (chunk, lengths) in rho.chunks(4096).zip(length.chunks(4096)) {
            let norms: Vec<f64> = chunk.iter().map(|r| rms(r)).collect();
            let x: Vec<f32> = chunk
                .iter()
                .zip(&norms)
                .flat_map(|(r, &s)| r.iter().map(move |v| (v / s.max(1e-300)) as f32))
                .collect();
            let x = Tensor::from_data(TensorData::new(x, [chunk.len(), nodes]), &self.device);
            let y = self.network.forward(x);
            let [_, width] = y.dims();
            let y = y.into_data().try_into_vec::<f32>().expect("f32 field");
            for ((row, &s), &length) in y.chunks(width).zip(&norms).zip(lengths) {
                let factor = s * length * self.scale.output_std;
                out.push(row.iter().map(|&v| f64::from(v) * factor).collect());
            }
        }
        out
    }

    /// Mean over `pairs` of ‖E_pred − E‖₂ / ‖E‖₂.
    pub fn mean_relative_error(&self, pairs: &FieldPairs) -> f64 {
        self.relative_errors(pairs).iter().sum::<f64>() / pairs.len().max(1) as f64
    }

    /// ‖E_pred − E‖₂ / ‖E‖₂ of each pair.
    pub fn relative_errors(&self, pairs: &FieldPairs) -> Vec<f64> {
        if pairs.is_empty() {
            return Vec::new();
        }
        let predicted = self.predict(&pairs.rho, &pairs.length);
        predicted
            .iter()
            .zip(&pairs.e)
            .map(|(p, e)| relative_l2(p, e))
            .collect()
    }
}

impl<M: FieldNetwork> FieldSolver for LearnedSolver<M> {
    fn solve(&mut self, rho: &[f64], dx: f64, e: &mut [f64]) {
        let s = rms(rho);
        if s == 0.0 {
            e.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        let length = dx * self.cells as f64;
        let row = self.predict(&[rho.to_vec()], &[length]);
        e.copy_from_slice(&row[0]);
    }
}

/// The MLP of `config`: cells^D → hidden … → D·cells^D, no LayerNorm.
pub fn mlp(config: &PlasmaConfig, device: &Device) -> Mlp {
    let d = config.plasma.dimensions;
    let nodes = config.plasma.cells.pow(d as u32);
    MlpConfig::new(
        nodes,
        config.mlp.hidden,
        config.mlp.layers,
        d * nodes,
        false,
    )
    .init(device)
}

/// The periodic CNN of `config`.
pub fn cnn(config: &PlasmaConfig, device: &Device) -> PeriodicCnn {
    PeriodicCnnConfig::new(
        config.plasma.cells,
        config.cnn.channels,
        config.cnn.local_kernel,
        config.cnn.local_layers,
    )
    .with_dimensions(config.plasma.dimensions)
    .init(device)
}
