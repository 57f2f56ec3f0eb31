//! Multi-layer perceptron: Linear → ReLU → … → Linear, optionally followed by LayerNorm.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

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

/// Which parameter [`Mlp::with_parameters`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlpParameter {
    /// A linear layer's weight `[fan_in, fan_out]`, row-major.
    Weight { fan_in: usize, fan_out: usize },
    /// A linear layer's bias `[fan_out]`.
    Bias { fan_in: usize, fan_out: usize },
    /// LayerNorm's gain `[width]`.
    NormGain { width: usize },
    /// LayerNorm's bias `[width]`.
    NormBias { width: usize },
}

impl Mlp {
    /// The same MLP with every parameter replaced by `values(which)`, asked for in the order
    /// layer 0 weight, layer 0 bias, layer 1 weight, …, then LayerNorm gain and bias — the
    /// order of the GNS kernel benchmark's reference (`../shared/bench/`), so that weights drawn
    /// or saved elsewhere load exactly.
    ///
    /// # Panics
    /// If `values` returns a vector of the wrong length.
    pub fn with_parameters(
        mut self,
        values: &mut dyn FnMut(MlpParameter) -> Vec<f32>,
        device: &Device,
    ) -> Self {
        let mut fetch = |which: MlpParameter, len: usize| {
            let v = values(which);
            assert_eq!(v.len(), len, "{which:?}: got {} values", v.len());
            v
        };
        for layer in &mut self.layers {
            let [fan_in, fan_out] = layer.weight.dims();
            let w = fetch(MlpParameter::Weight { fan_in, fan_out }, fan_in * fan_out);
            layer.weight = Param::from_tensor(Tensor::from_data(
                TensorData::new(w, [fan_in, fan_out]),
                device,
            ));
            let b = fetch(MlpParameter::Bias { fan_in, fan_out }, fan_out);
            layer.bias = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(b, [fan_out]),
                device,
            )));
        }
        if let Some(norm) = &mut self.norm {
            let [width] = norm.gamma.dims();
            let g = fetch(MlpParameter::NormGain { width }, width);
            norm.gamma = Param::from_tensor(Tensor::from_data(TensorData::new(g, [width]), device));
            let b = fetch(MlpParameter::NormBias { width }, width);
            norm.beta = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(b, [width]),
                device,
            )));
        }
        self
    }

    /// The linear layers and the closing LayerNorm, for kernels that copy the parameters out.
    pub(crate) fn parts(&self) -> (&[Linear], Option<&LayerNorm>) {
        (&self.layers, self.norm.as_ref())
    }

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
