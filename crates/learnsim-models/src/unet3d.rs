//! A periodic 3D U-Net (D3M, He et al. 2019): fields on a periodic n³ grid in, fields of
//! the same shape out, for the displacement-to-displacement map of the `pm-cosmo` case.
//!
//! Per level two periodic 3×3×3 convolutions with GELU; a stride-2 periodic convolution
//! goes down a level; going up, a periodic convolution to 8× the upper width followed by a
//! 3D pixel shuffle (a sub-pixel convolution, the periodic form of a stride-2 transposed
//! convolution), concatenated with the skip of that level. A 1×1×1 head, initialised to
//! zero, maps to the output channels, so the untrained network predicts a zero residual.

use crate::field_autoencoder::{periodic_pad, pixel_shuffle};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor};

/// Shape of the U-Net.
#[derive(Config, Debug)]
pub struct UNet3dConfig {
    /// Input channels.
    pub inputs: usize,
    /// Output channels.
    pub outputs: usize,
    /// Channels per level, finest first (D3M-lite: 16, 32, 64, two levels down).
    pub widths: Vec<usize>,
    /// Whether the head starts at zero (a zero residual), else burn's default.
    #[config(default = true)]
    pub zero_head: bool,
}

/// Two periodic 3×3×3 convolutions with GELU after each.
#[derive(Module, Debug)]
struct DoubleConv {
    first: Conv3d,
    second: Conv3d,
}

impl DoubleConv {
    fn new(from: usize, to: usize, device: &Device) -> Self {
        Self {
            first: conv(from, to, 1, device),
            second: conv(to, to, 1, device),
        }
    }

    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let x = gelu(self.first.forward(periodic_pad(x)));
        gelu(self.second.forward(periodic_pad(x)))
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct UNet3d {
    /// One per level, finest first.
    down: Vec<DoubleConv>,
    /// Stride-2 convolutions from level l to l + 1.
    pool: Vec<Conv3d>,
    /// Sub-pixel convolutions from level l + 1 to l (index l).
    up: Vec<Conv3d>,
    /// Double convolutions after each skip concatenation (index l).
    merge: Vec<DoubleConv>,
    head: Conv3d,
}

fn conv(from: usize, to: usize, stride: usize, device: &Device) -> Conv3d {
    Conv3dConfig::new([from, to], [3, 3, 3])
        .with_stride([stride; 3])
        .init(device)
}

impl UNet3dConfig {
    /// Builds the network with burn's default initialisation (and a zero head by default).
    pub fn init(&self, device: &Device) -> UNet3d {
        let w = &self.widths;
        let down = (0..w.len())
            .map(|l| DoubleConv::new(if l == 0 { self.inputs } else { w[l] }, w[l], device))
            .collect();
        let pool = w.windows(2).map(|p| conv(p[0], p[1], 2, device)).collect();
        let up = w
            .windows(2)
            .map(|p| conv(p[1], 8 * p[0], 1, device))
            .collect();
        let merge = w
            .iter()
            .take(w.len() - 1)
            .map(|&c| DoubleConv::new(2 * c, c, device))
            .collect();
        let mut head = Conv3dConfig::new([w[0], self.outputs], [1, 1, 1]).init(device);
        if self.zero_head {
            head.weight = Param::from_tensor(head.weight.val().zeros_like());
            if let Some(bias) = head.bias.take() {
                head.bias = Some(Param::from_tensor(bias.val().zeros_like()));
            }
        }
        UNet3d {
            down,
            pool,
            up,
            merge,
            head,
        }
    }
}

impl UNet3d {
    /// Levels (the grid side must be divisible by 2^(levels − 1)).
    pub fn levels(&self) -> usize {
        self.down.len()
    }

    /// # Shapes
    /// - `x`: `[batch, inputs, n, n, n]` → `[batch, outputs, n, n, n]`
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let levels = self.levels();
        let mut skips = Vec::with_capacity(levels);
        let mut x = self.down[0].forward(x);
        for l in 1..levels {
            skips.push(x.clone());
            x = self.down[l].forward(gelu(self.pool[l - 1].forward(periodic_pad(x))));
        }
        for l in (0..levels - 1).rev() {
            let up = gelu(pixel_shuffle(self.up[l].forward(periodic_pad(x))));
            let skip = skips.pop().expect("one skip per level above the coarsest");
            x = self.merge[l].forward(Tensor::cat(vec![up, skip], 1));
        }
        self.head.forward(x)
    }
}
