//! Multi-layer perceptron: Linear → ReLU → … → Linear, optionally followed by LayerNorm.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Shape of an MLP.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input width.
    pub d_input: usize,
    /// Width of every hidden layer.
    pub d_hidden: usize,
    /// Number of hidden layers (GNS: 2).
    pub n_hidden: usize,
    /// Output width.
    pub d_output: usize,
    /// Whether the output passes through LayerNorm (every GNS MLP but the decoder).
    pub layer_norm: bool,
}

/// A multi-layer perceptron.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    norm: Option<LayerNorm>,
}

impl MlpConfig {
    /// Builds the MLP with burn's default initialisation.
    pub fn init(&self, device: &Device) -> Mlp {
        let mut widths = vec![self.d_input];
        widths.extend(std::iter::repeat_n(self.d_hidden, self.n_hidden));
        widths.push(self.d_output);
        let layers = widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        let norm = self
            .layer_norm
            .then(|| LayerNormConfig::new(self.d_output).init(device));
        Mlp { layers, norm }
    }
}

impl Mlp {
    /// # Shapes
    /// - `input`: `[rows, d_input]`
    /// - returns: `[rows, d_output]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut h = input;
        for (k, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if k < last {
                h = relu(h);
            }
        }
        match &self.norm {
            Some(norm) => norm.forward(h),
            None => h,
        }
    }
}
