//! A convolutional autoencoder for periodic 3D vector fields (Mohan et al. 2020), with the
//! hard incompressibility constraint as an option: the decoder outputs a vector potential A
//! and the field is u = curl_h A with periodic central differences, so div_h u = 0 to
//! round-off (the periodic difference operators commute).
//!
//! Encoder: two stride-2 periodic 3×3×3 convolutions (3 → 16 → 32 channels, n³ → (n/4)³).
//! Decoder (mirrored): per level a periodic 3×3×3 convolution to 8× the next width, then a
//! 3D pixel shuffle to twice the resolution (a sub-pixel convolution, the periodic form of a
//! stride-2 transposed convolution): 32 → 16 → 3 channels. GELU between layers, none on the
//! latent or the output.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// What the decoder's last layer produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldOutput {
    /// The velocity itself (unconstrained).
    Velocity,
    /// A vector potential A, with u = curl_h A (exactly solenoidal for div_h).
    VectorPotential,
}

/// Shape of the autoencoder.
#[derive(Config, Debug)]
pub struct FieldAutoencoderConfig {
    /// Channels of the field (3).
    pub channels: usize,
    /// Channels after each stride-2 level (the paper's 16 and 32).
    pub widths: Vec<usize>,
    /// Velocity or vector potential.
    pub output: FieldOutput,
    /// Grid spacing h of the central differences in curl_h, in the units of the input grid.
    pub spacing: f64,
}

/// The autoencoder.
#[derive(Module, Debug)]
pub struct FieldAutoencoder {
    encoder: Vec<Conv3d>,
    decoder: Vec<Conv3d>,
    head: Conv3d,
    #[module(skip)]
    potential: bool,
    #[module(skip)]
    spacing: f64,
}

fn conv(from: usize, to: usize, stride: usize, device: &Device) -> Conv3d {
    Conv3dConfig::new([from, to], [3, 3, 3])
        .with_stride([stride; 3])
        .init(device)
}

impl FieldAutoencoderConfig {
    /// Builds the network with burn's default initialisation.
    pub fn init(&self, device: &Device) -> FieldAutoencoder {
        let mut widths = vec![self.channels];
        widths.extend(&self.widths);
        let encoder = widths
            .windows(2)
            .map(|w| conv(w[0], w[1], 2, device))
            .collect();
        // Mirrored: deepest width back to the first, then the head to the field's channels.
        let back: Vec<usize> = self.widths.iter().rev().copied().collect();
        let decoder = back
            .windows(2)
            .map(|w| conv(w[0], 8 * w[1], 1, device))
            .collect();
        FieldAutoencoder {
            encoder,
            decoder,
            head: conv(self.widths[0], 8 * self.channels, 1, device),
            potential: self.output == FieldOutput::VectorPotential,
            spacing: self.spacing,
        }
    }
}

/// Pads the spatial dimensions of `[batch, channels, *space]` (every dimension after the
/// second) periodically by one cell.
pub fn periodic_pad<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let mut x = x;
    for dim in 2..D {
        let n = x.dims()[dim];
        x = Tensor::cat(
            vec![
                x.clone().narrow(dim, n - 1, 1),
                x.clone(),
                x.narrow(dim, 0, 1),
            ],
            dim,
        );
    }
    x
}

/// 3D pixel shuffle: `[b, 8c, d, h, w]` → `[b, c, 2d, 2h, 2w]`, channel 8k + 4i + 2j + l
/// becoming the sub-position (i, j, l) of channel k.
pub fn pixel_shuffle(x: Tensor<5>) -> Tensor<5> {
    let [b, c8, d, h, w] = x.dims();
    let c = c8 / 8;
    x.reshape([b, c, 2, 2, 2, d, h, w])
        .permute([0, 1, 5, 2, 6, 3, 7, 4])
        .reshape([b, c, 2 * d, 2 * h, 2 * w])
}

/// Periodic central difference (f(i+1) − f(i−1)) / 2h along spatial dimension `dim` (2, 3, 4).
pub fn central_difference(f: Tensor<5>, dim: usize, spacing: f64) -> Tensor<5> {
    (f.clone().roll_dim(-1, dim) - f.roll_dim(1, dim)) / (2.0 * spacing)
}

/// curl_h A of `[batch, 3, x, y, z]` with periodic central differences.
///
/// # Shapes
/// - `a`: `[batch, 3, n, n, n]` → `[batch, 3, n, n, n]`
pub fn curl(a: Tensor<5>, spacing: f64) -> Tensor<5> {
    let component = |c: usize| a.clone().narrow(1, c, 1);
    let d = |c: usize, axis: usize| central_difference(component(c), 2 + axis, spacing);
    Tensor::cat(
        vec![
            d(2, 1) - d(1, 2), // ∂y Az − ∂z Ay
            d(0, 2) - d(2, 0), // ∂z Ax − ∂x Az
            d(1, 0) - d(0, 1), // ∂x Ay − ∂y Ax
        ],
        1,
    )
}

impl FieldAutoencoder {
    /// The latent code.
    ///
    /// # Shapes
    /// - `u`: `[batch, channels, n, n, n]` → `[batch, widths.last, n/4, n/4, n/4]`
    pub fn encode(&self, u: Tensor<5>) -> Tensor<5> {
        let mut x = u;
        for (k, layer) in self.encoder.iter().enumerate() {
            x = layer.forward(periodic_pad(x));
            if k + 1 < self.encoder.len() {
                x = gelu(x);
            }
        }
        x
    }

    /// The field decoded from a latent code (curl_h of the potential when constrained).
    ///
    /// # Shapes
    /// - `z`: `[batch, widths.last, n/4, n/4, n/4]` → `[batch, channels, n, n, n]`
    pub fn decode(&self, z: Tensor<5>) -> Tensor<5> {
        let mut x = z;
        for layer in &self.decoder {
            x = gelu(pixel_shuffle(layer.forward(periodic_pad(x))));
        }
        let out = pixel_shuffle(self.head.forward(periodic_pad(x)));
        if self.potential {
            curl(out, self.spacing)
        } else {
            out
        }
    }

    /// Encode then decode.
    ///
    /// # Shapes
    /// - `u`: `[batch, channels, n, n, n]` → `[batch, channels, n, n, n]`
    pub fn forward(&self, u: Tensor<5>) -> Tensor<5> {
        self.decode(self.encode(u))
    }
}
