//! TF-Net (Wang et al. 2020, `models/model.py`'s `LES`) for periodic 2D velocity fields, and
//! the plain U-Net it is compared with (the same encoder–decoder with one encoder and no
//! filters).
//!
//! TF-Net splits the input window into three scales before encoding:
//! - a learnable 3×3 spatial filter (no bias, shared by frames and components) gives the
//!   filtered field ū and the subfilter part u′ = u − ū;
//! - learnable temporal weights w over `time_range` frames give the moving average
//!   u_mean(t) = Σ_i w_i ū(t − time_range + 1 + i), and u_tilde = ū − u_mean;
//! - three encoders (u_mean, u_tilde, u′ over the last L − time_range + 1 frames) and one
//!   decoder fed, at each scale, the sum of the three encoders' features (U-Net skips).
//!
//! Encoders: four stride-2 periodic 3×3 convolutions with LeakyReLU(0.1). Decoder: per level
//! a periodic 3×3 convolution to 4× the width and a 2D pixel shuffle (the periodic form of
//! the original's stride-2 transposed convolutions). Output: a periodic 3×3 convolution over
//! [the last input frames, the decoder's output] to the 2 components, added to the last
//! frame (a residual; the output layer starts at zero). The original's BatchNorm and dropout are left out: the CPU tier trains
//! on one stationary flow for a few hundred steps.

use crate::{WindowModel, periodic_pad};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor};

/// Shape of TF-Net or the U-Net.
#[derive(Config, Debug)]
pub struct TfNetConfig {
    /// Input frames L.
    pub frames: usize,
    /// Frames of the moving average (TF-Net's time_range).
    pub time_range: usize,
    /// Encoder widths, finest first (four stride-2 levels).
    pub widths: Vec<usize>,
    /// TF-Net's filters and three encoders (else the plain U-Net).
    pub filters: bool,
}

impl TfNetConfig {
    /// Frames the encoders see: L − time_range + 1.
    pub fn encoded_frames(&self) -> usize {
        self.frames + 1 - self.time_range
    }
}

/// One encoder: the features after each stride-2 level.
#[derive(Module, Debug)]
struct Encoder {
    layers: Vec<Conv2d>,
}

fn conv(from: usize, to: usize, stride: usize, bias: bool, device: &Device) -> Conv2d {
    Conv2dConfig::new([from, to], [3, 3])
        .with_stride([stride, stride])
        .with_bias(bias)
        .init(device)
}

/// 2D pixel shuffle: `[b, 4c, h, w]` → `[b, c, 2h, 2w]`, channel 4k + 2i + j becoming the
/// sub-position (i, j) of channel k.
pub fn pixel_shuffle_2d(x: Tensor<4>) -> Tensor<4> {
    let [b, c4, h, w] = x.dims();
    let c = c4 / 4;
    x.reshape([b, c, 2, 2, h, w])
        .permute([0, 1, 4, 2, 5, 3])
        .reshape([b, c, 2 * h, 2 * w])
}

fn act(x: Tensor<4>) -> Tensor<4> {
    leaky_relu(x, 0.1)
}

impl Encoder {
    fn new(inputs: usize, widths: &[usize], device: &Device) -> Self {
        let mut from = inputs;
        let layers = widths
            .iter()
            .map(|&w| {
                let layer = conv(from, w, 2, true, device);
                from = w;
                layer
            })
            .collect();
        Self { layers }
    }

    fn forward(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut x = x;
        self.layers
            .iter()
            .map(|layer| {
                x = act(layer.forward(periodic_pad(x.clone())));
                x.clone()
            })
            .collect()
    }
}

/// TF-Net (with `filters`) or the plain U-Net.
#[derive(Module, Debug)]
pub struct TfNet {
    /// The 3×3 spatial filter (TF-Net only).
    spatial: Option<Conv2d>,
    /// Temporal weights, `[time_range]` (TF-Net only).
    temporal: Option<Param<Tensor<1>>>,
    encoders: Vec<Encoder>,
    /// Sub-pixel up-convolutions, coarsest first; the last goes to widths[0]/2 channels.
    decoder: Vec<Conv2d>,
    output: Conv2d,
    #[module(skip)]
    frames: usize,
    #[module(skip)]
    time_range: usize,
}

impl TfNetConfig {
    /// Builds the network with burn's default initialisation, the output layer at zero (the
    /// untrained network is persistence) and the temporal weights at the plain average
    /// 1/time_range.
    pub fn init(&self, device: &Device) -> TfNet {
        let inputs = 2 * self.encoded_frames();
        let count = if self.filters { 3 } else { 1 };
        let encoders = (0..count)
            .map(|_| Encoder::new(inputs, &self.widths, device))
            .collect();
        let w = &self.widths;
        let levels = w.len();
        let last = (w[0] / 2).max(1);
        let decoder = (0..levels)
            .rev()
            .map(|l| {
                let to = if l == 0 { last } else { w[l - 1] };
                conv(w[l], 4 * to, 1, true, device)
            })
            .collect();
        TfNet {
            spatial: self.filters.then(|| conv(1, 1, 1, false, device)),
            temporal: self.filters.then(|| {
                Param::from_tensor(Tensor::<1>::full(
                    [self.time_range],
                    1.0 / self.time_range as f64,
                    device,
                ))
            }),
            encoders,
            decoder,
            output: {
                // Zero: the untrained network predicts persistence (a zero residual).
                let mut output = conv(inputs + last, 2, 1, true, device);
                output.weight = Param::from_tensor(output.weight.val().zeros_like());
                if let Some(bias) = output.bias.take() {
                    output.bias = Some(Param::from_tensor(bias.val().zeros_like()));
                }
                output
            },
            frames: self.frames,
            time_range: self.time_range,
        }
    }
}

impl WindowModel for TfNet {
    fn forward(&self, window: Tensor<5>) -> Tensor<4> {
        let [b, frames, c, n, m] = window.dims();
        assert_eq!(frames, self.frames, "TF-Net: window of {frames} frames");
        let kept = frames + 1 - self.time_range;
        let recent = window
            .clone()
            .narrow(1, frames - kept, kept)
            .reshape([b, kept * c, n, m]);
        let features: Vec<Vec<Tensor<4>>> = match (&self.spatial, &self.temporal) {
            (Some(spatial), Some(temporal)) => {
                let filtered = spatial
                    .forward(periodic_pad(window.clone().reshape([
                        b * frames * c,
                        1,
                        n,
                        m,
                    ])))
                    .reshape([b, frames, c, n, m]);
                let prime = (window.clone() - filtered.clone())
                    .narrow(1, frames - kept, kept)
                    .reshape([b, kept * c, n, m]);
                let w = temporal.val();
                let mean = Tensor::cat(
                    (0..kept)
                        .map(|t| {
                            let span = filtered.clone().narrow(1, t, self.time_range);
                            (span * w.clone().reshape([1, self.time_range, 1, 1, 1])).sum_dim(1)
                        })
                        .collect(),
                    1,
                );
                let tilde = filtered.narrow(1, frames - kept, kept) - mean.clone();
                [
                    mean.reshape([b, kept * c, n, m]),
                    tilde.reshape([b, kept * c, n, m]),
                    prime,
                ]
                .into_iter()
                .zip(&self.encoders)
                .map(|(x, e)| e.forward(x))
                .collect()
            }
            _ => vec![self.encoders[0].forward(recent.clone())],
        };
        let levels = features[0].len();
        let skip = |l: usize| {
            features
                .iter()
                .map(|f| f[l].clone())
                .reduce(|a, b| a + b)
                .expect("one encoder at least")
        };
        let mut x = skip(levels - 1);
        for (i, up) in self.decoder.iter().enumerate() {
            let l = levels - 1 - i;
            if i > 0 {
                x = x + skip(l);
            }
            x = act(pixel_shuffle_2d(up.forward(periodic_pad(x))));
        }
        let out = self
            .output
            .forward(periodic_pad(Tensor::cat(vec![recent, x], 1)));
        window.narrow(1, frames - 1, 1).reshape([b, c, n, m]) + out
    }
}
