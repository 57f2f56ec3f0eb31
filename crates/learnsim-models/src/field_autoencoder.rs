//! A convolutional autoencoder for periodic 3D vector fields (Mohan et al. 2020), with the
//! hard incompressibility constraint as an option: the decoder outputs a vector potential A
//! and the field is u = curl_h A with periodic central differences, so div_h u = 0 to
//! round-off (the periodic difference operators commute). With `LerayPotential` the decoder
//! outputs a field v and a fixed spectral layer turns it into A = (−Δ_h)⁻¹ curl_h v, so that
//! u = curl_h A is v's orthogonal projection onto the fields curl_h can produce: measured on
//! `hit-3d`, decoding A itself reconstructed 1.51× worse than the plain autoencoder, while
//! the projection reconstructs better than it (the projection alone costs the true fields
//! 1.5 % relative L2).
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
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// What the decoder's last layer produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldOutput {
    /// The velocity itself (unconstrained).
    Velocity,
    /// A vector potential A, with u = curl_h A (exactly solenoidal for div_h).
    VectorPotential,
    /// A field v, turned into the vector potential A = (−Δ_h)⁻¹ curl_h v by a fixed spectral
    /// layer, with u = curl_h A: the discrete Leray projection of v (see [`leray_potential`]).
    LerayPotential,
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
    output: FieldOutput,
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
            output: self.output,
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

/// `m · t` along spatial dimension `dim` (2, 3, 4) of `t`, for a symmetric `[n, n]` matrix
/// `m`: one matmul without moving data (the last axis on the right, the others on the left,
/// broadcast over the leading axes).
fn apply_along(t: Tensor<5>, dim: usize, m: &Tensor<2>) -> Tensor<5> {
    let dims = t.dims();
    let before: usize = dims[..dim].iter().product();
    let after: usize = dims[dim + 1..].iter().product();
    let n = dims[dim];
    if after == 1 {
        t.reshape([before, n]).matmul(m.clone()).reshape(dims)
    } else {
        m.clone()
            .unsqueeze::<3>()
            .matmul(t.reshape([before, n, after]))
            .reshape(dims)
    }
}

/// The discrete Fourier transform along spatial dimension `dim` of the complex field
/// (`re`, `im`; `im` absent for a real one), with the sign `sign` in the exponent
/// e^{sign·2πi jk/n}: (re + i·im)(cos + i·sign·sin).
fn dft_along(
    (re, im): (Tensor<5>, Option<Tensor<5>>),
    dim: usize,
    sign: f64,
    (cos, sin): (&Tensor<2>, &Tensor<2>),
) -> (Tensor<5>, Tensor<5>) {
    let next_re = apply_along(re.clone(), dim, cos);
    let next_im = apply_along(re, dim, sin) * sign;
    match im {
        None => (next_re, next_im),
        Some(im) => (
            next_re - apply_along(im.clone(), dim, sin) * sign,
            next_im + apply_along(im, dim, cos),
        ),
    }
}

/// The vector potential A = (−Δ_h)⁻¹ curl_h v of a periodic field v, with Δ_h = div_h grad_h
/// the Laplacian of the same central differences (symbol −|s|², s_j = sin(k_j h)/h), solved
/// spectrally by dense DFT matrices (differentiable with burn's own ops). Since curl_h curl_h
/// = grad_h div_h − Δ_h for the commuting periodic operators, curl_h A = v − grad_h Δ_h⁻¹
/// div_h v: the orthogonal projection of v onto the fields curl_h can produce (the modes with
/// s = 0, the mean and the Nyquist corners, go to zero). So u = curl_h A is exactly
/// solenoidal for div_h, a field already of the form curl_h B passes unchanged, and the
/// network decoding v only loses v's div_h-carrying part instead of learning a potential
/// whose spectrum is the velocity's divided by |s|.
///
/// # Shapes
/// - `v`: `[batch, 3, n, n, n]` → `[batch, 3, n, n, n]`
pub fn leray_potential(v: Tensor<5>, spacing: f64) -> Tensor<5> {
    let [_, _, n, ny, nz] = v.dims();
    assert!(
        n == ny && n == nz,
        "leray_potential needs a cube, got {n}×{ny}×{nz}"
    );
    let device = v.device();
    let angle = |j: usize, k: usize| TAU * (j * k % n) as f64 / n as f64;
    let matrix = |f: &dyn Fn(f64) -> f64| {
        let data: Vec<f32> = (0..n * n).map(|p| f(angle(p / n, p % n)) as f32).collect();
        Tensor::<2>::from_data(TensorData::new(data, [n, n]), &device)
    };
    let (cos, sin) = (matrix(&f64::cos), matrix(&f64::sin));
    // 1/|s|², 0 where s = 0; the 1/n³ of the inverse transform folded in.
    let s2 = |k: usize| (angle(k, 1).sin() / spacing).powi(2);
    let inverse: Vec<f32> = (0..n * n * n)
        .map(|p| {
            let total = s2(p / (n * n)) + s2(p / n % n) + s2(p % n);
            // |s|² is 0 or at least (sin(2π/n)/h)²: a relative threshold separates them.
            if total * spacing * spacing < 1e-9 {
                0.0
            } else {
                (1.0 / (total * (n * n * n) as f64)) as f32
            }
        })
        .collect();
    let inverse = Tensor::<5>::from_data(TensorData::new(inverse, [1, 1, n, n, n]), &device);
    let w = curl(v, spacing);
    let mut z = dft_along((w, None), 2, -1.0, (&cos, &sin));
    for dim in 3..5 {
        z = dft_along((z.0, Some(z.1)), dim, -1.0, (&cos, &sin));
    }
    z = (z.0 * inverse.clone(), z.1 * inverse);
    for dim in 2..4 {
        z = dft_along((z.0, Some(z.1)), dim, 1.0, (&cos, &sin));
    }
    // Only the real part of the last inverse transform is the field: re·cos − im·sin.
    apply_along(z.0, 4, &cos) - apply_along(z.1, 4, &sin)
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
        match self.output {
            FieldOutput::Velocity => out,
            FieldOutput::VectorPotential => curl(out, self.spacing),
            FieldOutput::LerayPotential => curl(leray_potential(out, self.spacing), self.spacing),
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
