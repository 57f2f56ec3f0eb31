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
        self.forward_from_first(self.layers[0].forward(input))
    }

    /// The first layer's weight cut into row blocks of the given widths (which sum to
    /// `d_input`), and its bias, so that a caller can apply the layer to a concatenation
    /// `[a, b, …]` as `a·W_a + b·W_b + … + bias` without building it (see
    /// [`InteractionBlock`](crate::InteractionBlock)). Same parameters, same gradients.
    ///
    /// # Shapes
    /// - returns: `[widths[k], d_hidden]` blocks and a `[d_hidden]` bias
    pub fn first_layer_blocks(&self, widths: &[usize]) -> (Vec<Tensor<2>>, Option<Tensor<1>>) {
        let weight = self.layers[0].weight.val();
        let mut start = 0;
        let blocks = widths
            .iter()
            .map(|&w| {
                let block = weight.clone().slice(start..start + w);
                start += w;
                block
            })
            .collect();
        assert_eq!(start, weight.dims()[0], "block widths must sum to d_input");
        (blocks, self.layers[0].bias.as_ref().map(|b| b.val()))
    }

    /// The MLP from the first layer's output (before its activation) on.
    ///
    /// # Shapes
    /// - `first`: `[rows, width of layer 0's output]`
    /// - returns: `[rows, d_output]`
    pub fn forward_from_first(&self, first: Tensor<2>) -> Tensor<2> {
        let mut h = first;
        for layer in &self.layers[1..] {
            h = layer.forward(relu(h));
        }
        match &self.norm {
            Some(norm) => norm.forward(h),
            None => h,
        }
    }
}
