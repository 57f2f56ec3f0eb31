//! The grid models' exact parts: the periodic curl is solenoidal for the periodic central
//! divergence, its axes and signs match the continuum curl, sub-pixel upsampling places every
//! value, and PDE-Net's filters carry the moments they are built from (the upwind stencil at
//! the start, its mirrored twin, and SymNet's forward-mode slope against finite differences).

use burn::tensor::{Distribution, Tensor, TensorData};
use learnsim_models::{
    FieldAutoencoderConfig, FieldOutput, PdeNetConfig, UNet3dConfig, WindowModel,
    central_difference, curl, default_inference_device, leray_potential, periodic_pad,
    pixel_shuffle,
};
use std::f64::consts::TAU;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

fn divergence(u: Tensor<5>, h: f64) -> Tensor<5> {
    (0..3)
        .map(|c| central_difference(u.clone().narrow(1, c, 1), 2 + c, h))
        .reduce(|a, b| a + b)
        .expect("three components")
}

#[test]
fn curl_of_a_potential_is_discretely_solenoidal_with_the_right_axes() {
    let device = default_inference_device();
    let (n, h) = (8, TAU / 8.0);
    // div_h curl_h A = 0 for any A: the periodic difference operators commute. In f32 the
    // sum of six O(|A|/h) terms leaves round-off of ≈ 1e-7·|A|/h.
    let a = Tensor::<5>::random([2, 3, n, n, n], Distribution::Normal(0.0, 1.0), &device);
    let u = curl(a, h);
    let div = values(divergence(u.clone(), h));
    let size = values(u).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = div.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(worst < 1e-5 * size, "div {worst} vs |u| {size}");
    // A = (0, 0, sin x): curl A = (∂y Az, −∂x Az, 0) = (0, −cos x·sin(h)/h, 0) discretely.
    let az: Vec<f32> = (0..n * n * n)
        .map(|p| ((p / (n * n)) as f64 * h).sin() as f32)
        .collect();
    let mut data = vec![0.0f32; 2 * n * n * n];
    data.extend(az);
    let a = Tensor::<5>::from_data(TensorData::new(data, [1, 3, n, n, n]), &device);
    let u = values(curl(a, h));
    for i in 0..n {
        let p = (i * n + 3) * n + 5;
        let expected = -((i as f64 * h).cos() * h.sin() / h) as f32;
        assert!(u[p].abs() < 1e-6, "u_x {}", u[p]);
        assert!(
            (u[n * n * n + p] - expected).abs() < 1e-5,
            "u_y {} vs {expected}",
            u[n * n * n + p]
        );
        assert!(u[2 * n * n * n + p].abs() < 1e-6);
    }
}

#[test]
fn leray_potential_projects_onto_the_range_of_the_discrete_curl() {
    let device = default_inference_device();
    let (n, h) = (8, TAU / 8.0);
    let project = |v: Tensor<5>| curl(leray_potential(v, h), h);
    // A field already of the form curl_h B passes unchanged. The spectral layer is three f32
    // DFTs of length 8 each way (sums of 8 terms, rounding ≈ 1e-7 per term relative to the
    // largest value) and a division by |s|² ≥ (sin(2π/8)/h)², so 1e-4 of the largest value
    // leaves two orders of magnitude above the rounding.
    let b = Tensor::<5>::random([2, 3, n, n, n], Distribution::Normal(0.0, 1.0), &device);
    let w = curl(b, h);
    let size = values(w.clone()).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let back = values(project(w.clone()));
    let worst = values(w)
        .iter()
        .zip(&back)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst < 1e-4 * size,
        "curl_h B changed by {worst} (|w| {size})"
    );
    // Any v: the output is div_h-free, and v − u is orthogonal to u (an orthogonal projection),
    // both to the same relative rounding.
    let v = Tensor::<5>::random([1, 3, n, n, n], Distribution::Normal(0.0, 1.0), &device);
    let u = project(v.clone());
    let div = values(divergence(u.clone(), h));
    let (u, v) = (values(u), values(v));
    let size = u.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let worst = div.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(worst < 1e-4 * size / h as f32, "div {worst} vs |u| {size}");
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum::<f64>();
    let residual: Vec<f32> = v.iter().zip(&u).map(|(a, b)| a - b).collect();
    let (cross, norm) = (dot(&residual, &u), dot(&u, &u));
    assert!(
        cross.abs() < 1e-4 * norm,
        "⟨v − u, u⟩ = {cross}, |u|² = {norm}"
    );
    // A random field loses its div_h-carrying part: roughly a third of its energy, not all.
    assert!(
        norm < 0.9 * dot(&v, &v) && norm > 0.3 * dot(&v, &v),
        "|u|² = {norm}"
    );
}

#[test]
fn padding_wraps_and_pixel_shuffle_places_every_value() {
    let device = default_inference_device();
    let x = Tensor::<5>::from_data(
        TensorData::new(
            (0..64).map(|v| v as f32).collect::<Vec<_>>(),
            [1, 1, 4, 4, 4],
        ),
        &device,
    );
    let padded = values(periodic_pad(x));
    // Padded index (0, 0, 0) is the original (3, 3, 3); (5, 1, 2) is (0, 0, 1).
    assert_eq!(padded[0], 63.0);
    assert_eq!(padded[(5 * 6 + 1) * 6 + 2], 1.0);
    // Channel 8k + 4i + 2j + l lands on sub-position (i, j, l).
    let y = Tensor::<5>::from_data(
        TensorData::new(
            (0..8 * 8).map(|v| v as f32).collect::<Vec<_>>(),
            [1, 8, 2, 2, 2],
        ),
        &device,
    );
    let shuffled = values(pixel_shuffle(y));
    // Output (2·1 + 1, 2·0 + 0, 2·1 + 1) = (3, 0, 3) comes from channel 4·1 + 0 + 1 = 5 at
    // input (1, 0, 1), i.e. value 5·8 + (1·2 + 0)·2 + 1 = 45.
    assert_eq!(shuffled[(3 * 4) * 4 + 3], 45.0);
    let mut sorted = shuffled.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted, (0..64).map(|v| v as f32).collect::<Vec<_>>());
}

#[test]
fn constrained_autoencoder_is_solenoidal_from_the_start() {
    let device = default_inference_device();
    let h = TAU / 16.0;
    for (output, solenoidal) in [
        (FieldOutput::VectorPotential, true),
        (FieldOutput::LerayPotential, true),
        (FieldOutput::Velocity, false),
    ] {
        let net = FieldAutoencoderConfig::new(3, vec![4, 8], output, h).init(&device);
        let u = Tensor::<5>::random([1, 3, 16, 16, 16], Distribution::Normal(0.0, 1.0), &device);
        let out = net.forward(u);
        assert_eq!(out.dims(), [1, 3, 16, 16, 16]);
        let size = values(out.clone())
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = values(divergence(out, h))
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert_eq!(
            worst < 1e-5 * size / h as f32,
            solenoidal,
            "div {worst}, |u| {size}"
        );
    }
}

#[test]
fn pdenet_filters_have_their_moments_and_upwind_twins() {
    let device = default_inference_device();
    let h = 0.5;
    let net = PdeNetConfig::new(2, 2, 2, false, h, 0.01, true).init(&device);
    let q = values(net.filters());
    let at = |f: usize, x: i32, y: i32| f64::from(q[f * 25 + ((x + 2) * 5 + y + 2) as usize]);
    // u_x starts as (3f₀ − 4f₋₁ + f₋₂)/2h along x.
    for (x, w) in [(0, 3.0), (-1, -4.0), (-2, 1.0), (1, 0.0), (2, 0.0)] {
        assert!(
            (at(1, x, 0) - w / (2.0 * h)).abs() < 1e-5,
            "u_x at {x}: {}",
            at(1, x, 0)
        );
    }
    // u_y likewise along y, u_xx the 5-point-accurate second difference: moments 0, 0, 1.
    assert!((at(2, 0, -1) + 4.0 / (2.0 * h)).abs() < 1e-5);
    for (f, (i, j)) in [
        (3usize, (2u32, 0u32)),
        (4, (1, 1)),
        (5, (0, 2)),
        (0, (0, 0)),
    ] {
        for (a, b) in [(0u32, 0u32), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)] {
            let mut moment = 0.0;
            for x in -2..=2i32 {
                for y in -2..=2i32 {
                    moment +=
                        at(f, x, y) * f64::from(x).powi(a as i32) * f64::from(y).powi(b as i32)
                            / (fact(a) * fact(b));
                }
            }
            let expected = if (a, b) == (i, j) {
                h.powi(-((i + j) as i32))
            } else {
                0.0
            };
            assert!(
                (moment - expected).abs() < 1e-3 * expected.abs().max(1.0),
                "filter {f} moment ({a},{b}) = {moment}"
            );
        }
    }
}

fn fact(k: u32) -> f64 {
    (1..=k).map(f64::from).product()
}

#[test]
fn symnet_slope_matches_finite_differences() {
    let device = default_inference_device();
    let net = PdeNetConfig::new(2, 3, 2, false, 0.2, 0.01, true).init(&device);
    let sym = &net.symnets()[0];
    let x = Tensor::<2>::random([5, 12], Distribution::Normal(0.0, 1.0), &device);
    for f in [1usize, 2, 7] {
        let slope = values(sym.tangent(x.clone(), f));
        let step = 1e-2f32;
        let mut bump = vec![0.0f32; 12];
        bump[f] = step;
        let shift = Tensor::<2>::from_data(TensorData::new(bump, [1, 12]), &device);
        let up = values(sym.forward(x.clone() + shift.clone()));
        let down = values(sym.forward(x.clone() - shift));
        for p in 0..5 {
            // Central differences of a degree-8 polynomial: O(step²) error, ≈ 1e-4 here.
            let fd = (up[p] - down[p]) / (2.0 * step);
            assert!(
                (fd - slope[p]).abs() < 1e-3 * (1.0 + slope[p].abs()),
                "feature {f}: {fd} vs {}",
                slope[p]
            );
        }
    }
}

/// The periodic U-Net keeps the grid's shape, starts at a zero residual (zero head), and is
/// equivariant under periodic shifts by multiples of its coarsest stride (2^(levels − 1)):
/// every layer is a periodic convolution, a stride-2 one or a pixel shuffle, and a shift by
/// 4 cells is a shift by 1 cell on the coarsest grid. Only f32 summation order differs
/// (≈ 1e-6 of the output's size).
#[test]
fn unet_is_zero_at_start_and_equivariant_under_coarse_shifts() {
    let device = default_inference_device();
    let n = 8;
    let config = UNet3dConfig::new(3, 3, vec![4, 8, 8]);
    let net = config.init(&device);
    let x = Tensor::<5>::random([2, 3, n, n, n], Distribution::Normal(0.0, 1.0), &device);
    let y = net.forward(x.clone());
    assert_eq!(y.dims(), [2, 3, n, n, n]);
    assert!(values(y).iter().all(|&v| v == 0.0));
    // A random head, so that the equivariance check is not of zeros.
    let net = config.with_zero_head(false).init(&device);
    let y = net.forward(x.clone());
    let shifted = net.forward(x.roll_dim(4, 2).roll_dim(-4, 4));
    let expected = values(y.roll_dim(4, 2).roll_dim(-4, 4));
    let got = values(shifted);
    let size = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(size > 0.0);
    let worst = got
        .iter()
        .zip(&expected)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-5 * size, "shift error {worst} of {size}");
}

/// TF-Net and the U-Net map a window of frames to the next frame; with the output layer at
/// zero both start as persistence (the last frame, bit for bit), and the 2D pixel shuffle
/// places channel 4k + 2i + j at sub-position (i, j).
#[test]
fn tfnet_and_unet_start_as_persistence() {
    let device = default_inference_device();
    let n = 16;
    for filters in [true, false] {
        let net = learnsim_models::TfNetConfig::new(6, 3, vec![4, 8, 8, 8], filters).init(&device);
        let window = Tensor::<5>::random([2, 6, 2, n, n], Distribution::Normal(0.0, 1.0), &device);
        let next = net.forward(window.clone());
        assert_eq!(next.dims(), [2, 2, n, n]);
        let last = window.narrow(1, 5, 1).reshape([2, 2, n, n]);
        assert_eq!(values(next), values(last));
    }
    let x = Tensor::<4>::from_data(
        TensorData::new((0..8).map(|v| v as f32).collect::<Vec<_>>(), [1, 8, 1, 1]),
        &device,
    );
    let y = values(learnsim_models::pixel_shuffle_2d(x));
    // Channel 0 gets 0, 1, 2, 3 at (0,0), (0,1), (1,0), (1,1); channel 1 gets 4..8.
    assert_eq!(y, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
}
