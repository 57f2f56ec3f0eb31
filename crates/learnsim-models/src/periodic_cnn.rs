//! A periodic convolutional network for fields on a ring (or, with 2D layers, a torus) of grid
//! points: circular padding before every convolution, ReLU between them. The first convolution spans the whole period,
//! so one layer can hold a periodic Green's function (the plasma case's field solve: E from ρ
//! is a circular convolution); the later, short ones are local corrections.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{PaddingConfig1d, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Shape of a [`PeriodicCnn`]: on a ring of `points` nodes or, with `dimensions = 2`, on a
/// torus of `points`² nodes (kernels `points`² and `local_kernel`², the output one channel per
/// dimension: a vector field).
#[derive(Config, Debug)]
pub struct PeriodicCnnConfig {
    /// Grid points of the ring (the first kernel's width).
    pub points: usize,
    /// Channels of every hidden layer.
    pub channels: usize,
    /// Width of the later (local) kernels; odd.
    pub local_kernel: usize,
    /// Local convolutions after the global one (each followed by ReLU).
    pub local_layers: usize,
    /// 1 (a ring) or 2 (a torus).
    #[config(default = 1)]
    pub dimensions: usize,
}

/// Global circular convolution → ReLU → (local circular convolution → ReLU)* → 1×1 convolution,
/// on a ring (1D layers) or a torus (2D layers).
#[derive(Module, Debug)]
pub struct PeriodicCnn {
    global: Option<Conv1d>,
    local: Vec<Conv1d>,
    head: Option<Conv1d>,
    global_2d: Option<Conv2d>,
    local_2d: Vec<Conv2d>,
    head_2d: Option<Conv2d>,
}

fn conv(from: usize, to: usize, kernel: usize, device: &Device) -> Conv1d {
    Conv1dConfig::new(from, to, kernel)
        .with_padding(PaddingConfig1d::Valid)
        .init(device)
}

fn conv_2d(from: usize, to: usize, kernel: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([from, to], [kernel, kernel])
        .with_padding(PaddingConfig2d::Valid)
        .init(device)
}

impl PeriodicCnnConfig {
    /// Builds the network with burn's default initialisation.
    pub fn init(&self, device: &Device) -> PeriodicCnn {
        let c = self.channels;
        if self.dimensions == 2 {
            return PeriodicCnn {
                global: None,
                local: Vec::new(),
                head: None,
                global_2d: Some(conv_2d(1, c, self.points, device)),
                local_2d: (0..self.local_layers)
                    .map(|_| conv_2d(c, c, self.local_kernel, device))
                    .collect(),
                head_2d: Some(conv_2d(c, 2, 1, device)),
            };
        }
        PeriodicCnn {
            global: Some(conv(1, c, self.points, device)),
            local: (0..self.local_layers)
                .map(|_| conv(c, c, self.local_kernel, device))
                .collect(),
            head: Some(conv(c, 1, 1, device)),
            global_2d: None,
            local_2d: Vec::new(),
            head_2d: None,
        }
    }
}

/// `x` extended periodically along `dim` to `n + kernel − 1` points, so that a valid
/// convolution of width `kernel` returns `n` points, output i centred on input i (kernel/2
/// points before, the rest after).
fn circular_pad<const R: usize>(x: Tensor<R>, dim: usize, kernel: usize) -> Tensor<R> {
    let n = x.dims()[dim];
    let (before, after) = (kernel / 2, kernel - 1 - kernel / 2);
    let mut parts = Vec::new();
    // Wrap as many whole periods as needed (a kernel as wide as the ring needs ~n/2 each side).
    let mut left = before;
    while left > 0 {
        let take = left.min(n);
        parts.push(x.clone().narrow(dim, n - take, take));
        left -= take;
    }
    parts.reverse();
    parts.push(x.clone());
    let mut right = after;
    while right > 0 {
        let take = right.min(n);
        parts.push(x.clone().narrow(dim, 0, take));
        right -= take;
    }
    Tensor::cat(parts, dim)
}

/// Both spatial dimensions of `[batch, channels, n, n]` padded for a square `kernel`.
fn circular_pad_2d(x: Tensor<4>, kernel: usize) -> Tensor<4> {
    circular_pad(circular_pad(x, 2, kernel), 3, kernel)
}

impl PeriodicCnn {
    /// # Shapes
    /// - `x`: `[batch, points^D]` (x the slowest index) → `[batch, D × points^D]`
    ///   (component-major)
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, width] = x.dims();
        if let (Some(global), Some(head)) = (&self.global_2d, &self.head_2d) {
            let n = global.weight.dims()[2];
            let kernel = |c: &Conv2d| c.weight.dims()[2];
            let mut h = x.reshape([batch, 1, n, n]);
            h = relu(global.forward(circular_pad_2d(h, kernel(global))));
            for layer in &self.local_2d {
                h = relu(layer.forward(circular_pad_2d(h, kernel(layer))));
            }
            return head.forward(h).reshape([batch, 2 * width]);
        }
        let (global, head) = (
            self.global
                .as_ref()
                .expect("a 1D network has its global layer"),
            self.head.as_ref().expect("a 1D network has its head"),
        );
        let kernel = |c: &Conv1d| c.weight.dims()[2];
        let mut h = x.reshape([batch, 1, width]);
        h = relu(global.forward(circular_pad(h, 2, kernel(global))));
        for layer in &self.local {
            h = relu(layer.forward(circular_pad(h, 2, kernel(layer))));
        }
        head.forward(h).reshape([batch, width])
    }
}
