//! A periodic 1D convolutional network for fields on a ring of grid points: circular padding
//! before every convolution, ReLU between them. The first convolution spans the whole period,
//! so one layer can hold a periodic Green's function (the plasma case's field solve: E from ρ
//! is a circular convolution); the later, short ones are local corrections.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Shape of a [`PeriodicCnn1d`].
#[derive(Config, Debug)]
pub struct PeriodicCnn1dConfig {
    /// Grid points of the ring (the first kernel's width).
    pub points: usize,
    /// Channels of every hidden layer.
    pub channels: usize,
    /// Width of the later (local) kernels; odd.
    pub local_kernel: usize,
    /// Local convolutions after the global one (each followed by ReLU).
    pub local_layers: usize,
}

/// Global circular convolution → ReLU → (local circular convolution → ReLU)* → 1×1 convolution.
#[derive(Module, Debug)]
pub struct PeriodicCnn1d {
    global: Conv1d,
    local: Vec<Conv1d>,
    head: Conv1d,
}

fn conv(from: usize, to: usize, kernel: usize, device: &Device) -> Conv1d {
    Conv1dConfig::new(from, to, kernel)
        .with_padding(PaddingConfig1d::Valid)
        .init(device)
}

impl PeriodicCnn1dConfig {
    /// Builds the network with burn's default initialisation.
    pub fn init(&self, device: &Device) -> PeriodicCnn1d {
        PeriodicCnn1d {
            global: conv(1, self.channels, self.points, device),
            local: (0..self.local_layers)
                .map(|_| conv(self.channels, self.channels, self.local_kernel, device))
                .collect(),
            head: conv(self.channels, 1, 1, device),
        }
    }
}

/// `x` `[batch, channels, n]` extended periodically to `n + kernel − 1` points, so that a
/// valid convolution of width `kernel` returns `n` points, output i centred on input i
/// (kernel/2 points before, the rest after).
fn circular_pad(x: Tensor<3>, kernel: usize) -> Tensor<3> {
    let n = x.dims()[2];
    let (before, after) = (kernel / 2, kernel - 1 - kernel / 2);
    let mut parts = Vec::new();
    // Wrap as many whole periods as needed (a kernel as wide as the ring needs ~n/2 each side).
    let mut left = before;
    while left > 0 {
        let take = left.min(n);
        parts.push(x.clone().narrow(2, n - take, take));
        left -= take;
    }
    parts.reverse();
    parts.push(x.clone());
    let mut right = after;
    while right > 0 {
        let take = right.min(n);
        parts.push(x.clone().narrow(2, 0, take));
        right -= take;
    }
    Tensor::cat(parts, 2)
}

impl PeriodicCnn1d {
    /// # Shapes
    /// - `x`: `[batch, points]` → `[batch, points]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, points] = x.dims();
        let kernel = |c: &Conv1d| c.weight.dims()[2];
        let mut h = x.reshape([batch, 1, points]);
        h = relu(self.global.forward(circular_pad(h, kernel(&self.global))));
        for layer in &self.local {
            h = relu(layer.forward(circular_pad(h, kernel(layer))));
        }
        self.head.forward(h).reshape([batch, points])
    }
}
