//! Symmetries and gradients of the equivariant network (issue #32): rotating or reflecting
//! every input vector rotates or reflects the output, in 2D and 3D, for the bare network and for
//! the whole learned simulator (featurize → network); permuting particles permutes the output;
//! translating the scene leaves it unchanged; a one-layer network's gradients match finite
//! differences; decode inverts the target with the isotropic normalisation.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use learnsim_core::ParticleKind;
use learnsim_models::{
    Architecture, EgnnConfig, EgnnInput, LearnedSimulator, LearnedSimulatorConfig, Normalization,
    default_inference_device, default_training_device,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SCALARS: usize = 5;
const VECTORS: usize = 4;
const RADIUS: f64 = 0.3;

/// A random scene: `n` points in the unit box, their scalars and `VECTORS` vectors each.
struct Scene {
    dim: usize,
    points: Vec<Vec<f64>>,
    scalars: Vec<f32>,
    /// `[n][VECTORS][dim]`.
    vectors: Vec<Vec<Vec<f64>>>,
}

fn scene(dim: usize, n: usize, seed: u64) -> Scene {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Scene {
        dim,
        points: (0..n)
            .map(|_| (0..dim).map(|_| rng.random_range(0.0..1.0)).collect())
            .collect(),
        scalars: (0..n * SCALARS)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect(),
        vectors: (0..n)
            .map(|_| {
                (0..VECTORS)
                    .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
                    .collect()
            })
            .collect(),
    }
}

impl Scene {
    /// Every point `x → Qx + t`, every vector `v → Qv`.
    fn transformed(&self, q: &[Vec<f64>], t: &[f64]) -> Scene {
        let apply = |v: &[f64]| -> Vec<f64> {
            (0..self.dim)
                .map(|i| (0..self.dim).map(|j| q[i][j] * v[j]).sum())
                .collect()
        };
        Scene {
            dim: self.dim,
            points: self
                .points
                .iter()
                .map(|x| apply(x).iter().zip(t).map(|(a, b)| a + b).collect())
                .collect(),
            scalars: self.scalars.clone(),
            vectors: self
                .vectors
                .iter()
                .map(|vs| vs.iter().map(|v| apply(v)).collect())
                .collect(),
        }
    }

    /// The radius graph (self-edges included, as the simulator's) in the network's layout,
    /// offsets computed in f64 from the points.
    fn input(&self, device: &Device) -> EgnnInput {
        let (n, d) = (self.points.len(), self.dim);
        let (mut senders, mut receivers, mut offsets, mut lengths) =
            (Vec::new(), Vec::new(), vec![Vec::new(); d], Vec::new());
        for r in 0..n {
            for s in 0..n {
                let delta: Vec<f64> = (0..d)
                    .map(|a| (self.points[s][a] - self.points[r][a]) / RADIUS)
                    .collect();
                let length = delta.iter().map(|x| x * x).sum::<f64>().sqrt();
                if length < 1.0 {
                    senders.push(s as i64);
                    receivers.push(r as i64);
                    for a in 0..d {
                        offsets[a].push(delta[a] as f32);
                    }
                    lengths.push(length as f32);
                }
            }
        }
        let e = senders.len();
        let column = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [e, 1]), device);
        EgnnInput {
            scalars: Tensor::from_data(TensorData::new(self.scalars.clone(), [n, SCALARS]), device),
            vectors: (0..d)
                .map(|a| {
                    let values = self
                        .vectors
                        .iter()
                        .flat_map(|vs| vs.iter().map(move |v| v[a] as f32))
                        .collect();
                    Tensor::from_data(TensorData::new(values, [n, VECTORS]), device)
                })
                .collect(),
            offsets: offsets.into_iter().map(column).collect(),
            lengths: column(lengths),
            senders: Tensor::<1, Int>::from_data(TensorData::new(senders, [e]), device),
            receivers: Tensor::<1, Int>::from_data(TensorData::new(receivers, [e]), device),
        }
    }
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// A random rotation (Rodrigues in 3D), composed with the reflection of the first axis when
/// `reflect`.
fn orthogonal(dim: usize, reflect: bool, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let angle: f64 = rng.random_range(0.3..3.0);
    let (c, s) = (angle.cos(), angle.sin());
    let mut q = if dim == 2 {
        vec![vec![c, -s], vec![s, c]]
    } else {
        let axis: Vec<f64> = (0..3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let norm = axis.iter().map(|x| x * x).sum::<f64>().sqrt();
        let k: Vec<f64> = axis.iter().map(|x| x / norm).collect();
        (0..3)
            .map(|i| {
                (0..3)
                    .map(|j| {
                        let cross = match (i, j) {
                            (0, 1) => -k[2],
                            (0, 2) => k[1],
                            (1, 0) => k[2],
                            (1, 2) => -k[0],
                            (2, 0) => -k[1],
                            (2, 1) => k[0],
                            _ => 0.0,
                        };
                        let identity = if i == j { 1.0 } else { 0.0 };
                        c * identity + s * cross + (1.0 - c) * k[i] * k[j]
                    })
                    .collect()
            })
            .collect()
    };
    if reflect {
        for row in &mut q {
            row[0] = -row[0];
        }
    }
    q
}

fn rotate_rows(out: &[f32], q: &[Vec<f64>], dim: usize) -> Vec<f32> {
    out.chunks(dim)
        .flat_map(|v| {
            (0..dim).map(move |i| (0..dim).map(|j| q[i][j] * f64::from(v[j])).sum::<f64>() as f32)
        })
        .collect()
}

/// Largest |a − b| over the largest |b|: the error relative to the output's scale.
fn relative_gap(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(scale > 1e-3, "outputs too small to test: {scale}");
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

// Tolerance of a symmetry of the network: inputs rotated in f64 and stored as f32 differ from
// the exactly rotated ones by half an ulp (6e-8 relative); each of the ~40 sums, products and
// MLP layers between input and output can amplify a relative rounding error by its condition
// (a few), and ReLU's kinks are crossed only by inputs within rounding of a kink. 1e-4 of the
// output scale leaves a factor of ~10 over that estimate and is 1000 times below what an
// axis-dependent operation produces (a broken symmetry moves the output by O(1) of its scale).
const SYMMETRY_TOLERANCE: f32 = 1e-4;

#[test]
fn egnn_rotates_and_reflects_with_its_inputs_in_2d_and_3d() {
    let device = default_inference_device();
    for dim in [2, 3] {
        let network = EgnnConfig::new(SCALARS, VECTORS)
            .with_latent(32)
            .with_vector_channels(8)
            .with_layers(3)
            .init(&device);
        let base = scene(dim, 30, dim as u64);
        let out = values(network.forward(base.input(&device)));
        for (k, reflect) in [false, true].into_iter().enumerate() {
            let q = orthogonal(dim, reflect, 10 + k as u64);
            let t = vec![0.0; dim];
            let moved = values(network.forward(base.transformed(&q, &t).input(&device)));
            let gap = relative_gap(&moved, &rotate_rows(&out, &q, dim));
            assert!(
                gap < SYMMETRY_TOLERANCE,
                "{dim}D, reflect {reflect}: f(Qx) differs from Q f(x) by {gap} of the output scale"
            );
        }
    }
}

#[test]
fn egnn_ignores_a_translation_and_permutes_with_its_nodes() {
    let device = default_inference_device();
    let dim = 3;
    let network = EgnnConfig::new(SCALARS, VECTORS)
        .with_latent(32)
        .with_vector_channels(8)
        .with_layers(3)
        .init(&device);
    let base = scene(dim, 30, 7);
    let out = values(network.forward(base.input(&device)));
    let identity: Vec<Vec<f64>> = (0..dim)
        .map(|i| (0..dim).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let shifted = base.transformed(&identity, &[0.37, -1.2, 5.0]);
    let gap = relative_gap(&values(network.forward(shifted.input(&device))), &out);
    assert!(
        gap < SYMMETRY_TOLERANCE,
        "translation moved the output by {gap}"
    );

    let n = base.points.len();
    let perm: Vec<usize> = (0..n).map(|i| (7 * i + 3) % n).collect(); // 7 and 30 coprime
    let permuted = Scene {
        dim,
        points: perm.iter().map(|&p| base.points[p].clone()).collect(),
        scalars: perm
            .iter()
            .flat_map(|&p| base.scalars[p * SCALARS..(p + 1) * SCALARS].to_vec())
            .collect(),
        vectors: perm.iter().map(|&p| base.vectors[p].clone()).collect(),
    };
    let got = values(network.forward(permuted.input(&device)));
    let want: Vec<f32> = perm
        .iter()
        .flat_map(|&p| out[p * dim..(p + 1) * dim].to_vec())
        .collect();
    let gap = relative_gap(&got, &want);
    assert!(gap < SYMMETRY_TOLERANCE, "permutation: {gap}");
}

/// A one-layer network's gradients with respect to its scalar inputs, its input vectors and
/// the edge offsets against central differences (tolerances as the GNS block's check in
/// learned_simulator.rs: rounding ≈ ε·|loss|/(2h) ≈ 6e-8·30/2e-3 ≈ 1e-3).
#[test]
fn one_layer_gradients_match_finite_differences() {
    let device = default_training_device();
    device.seed(5);
    let network = EgnnConfig::new(SCALARS, VECTORS)
        .with_latent(8)
        .with_vector_channels(4)
        .with_n_hidden(1)
        .with_layers(1)
        .init(&device);
    let base = scene(2, 8, 3);
    let template = base.input(&device);
    let scalars = values(template.scalars.clone());
    let vector_x = values(template.vectors[0].clone());
    let offset_y = values(template.offsets[1].clone());
    let (n, e) = (base.points.len(), offset_y.len());
    // Which input a coordinate perturbs: 0 scalars, 1 the x components of the vectors,
    // 2 the y components of the offsets.
    let loss_of = |which: usize, data: Vec<f32>, track: bool| {
        let mut input = base.input(&device);
        let mut tensor = match which {
            0 => Tensor::<2>::from_data(TensorData::new(data, [n, SCALARS]), &device),
            1 => Tensor::<2>::from_data(TensorData::new(data, [n, VECTORS]), &device),
            _ => Tensor::<2>::from_data(TensorData::new(data, [e, 1]), &device),
        };
        if track {
            tensor = tensor.require_grad();
        }
        match which {
            0 => input.scalars = tensor.clone(),
            1 => input.vectors[0] = tensor.clone(),
            _ => input.offsets[1] = tensor.clone(),
        }
        let out = network.forward(input);
        (tensor, (out.clone() * out.sin()).sum())
    };
    for (which, data) in [(0, scalars), (1, vector_x), (2, offset_y)] {
        let (input, loss) = loss_of(which, data.clone(), true);
        let grads = loss.backward();
        let analytic = values(input.grad(&grads).unwrap());
        let fd = |k: usize, h: f32| {
            let (mut plus, mut minus) = (data.clone(), data.clone());
            plus[k] += h;
            minus[k] -= h;
            let lp: f32 = loss_of(which, plus, false).1.into_scalar();
            let lm: f32 = loss_of(which, minus, false).1.into_scalar();
            (lp - lm) / (2.0 * h)
        };
        let mut checked = 0;
        for k in 0..data.len() {
            let (coarse, fine) = (fd(k, 1e-3), fd(k, 2.5e-4));
            if (coarse - fine).abs() > 1e-2 * (1.0 + coarse.abs()) {
                continue; // a ReLU kink between the probes
            }
            checked += 1;
            assert!(
                (coarse - analytic[k]).abs() < 2e-2 * (1.0 + analytic[k].abs()),
                "input {which}, coordinate {k}: fd {coarse} vs autodiff {}",
                analytic[k]
            );
        }
        assert!(
            checked >= data.len() * 3 / 4,
            "input {which}: only {checked} of {} coordinates were smooth",
            data.len()
        );
    }
}

/// A learned simulator with the equivariant network on a closed square box: isotropic
/// normalisation, gravity `g` per frame as its acceleration offset.
fn square_box(gravity: [f64; 2]) -> LearnedSimulator {
    LearnedSimulator {
        config: LearnedSimulatorConfig {
            dim: 2,
            history: 3,
            connectivity_radius: 0.15,
            bounds: vec![[0.0, 1.0]; 2],
            periodic: vec![false; 2],
            embedding_dim: 4,
            latent: 16,
            n_hidden: 1,
            message_passing_steps: 2,
            wall_horizon: 1.0,
            wall_nodes: Default::default(),
            material_features: 0,
            context_features: 0,
            architecture: Architecture::Egnn,
            vector_channels: 8,
        },
        normalization: Normalization {
            vel_mean: vec![0.0; 2],
            vel_std: vec![0.01; 2],
            acc_mean: gravity.to_vec(),
            acc_std: vec![0.002; 2],
            context_mean: vec![],
            context_std: vec![],
        },
    }
}

/// The whole learned simulator (featurize, walls as vectors, gravity as a vector, network,
/// decode) commutes with the box's own symmetries: a quarter turn about its centre and the
/// mirror x → 1 − x, each applied to the frames and to gravity, move the next frame the same
/// way. Mapped f32 positions round by half an ulp of 1 (6e-8) against velocities of ~1e-2, a
/// relative input error of 6e-6; through the network (as above, ≲ 1e-4 of its output) and
/// decode that stays below 1e-4 of the step (next − current, ~1e-2). 1e-3 leaves a margin of
/// 10; a wall or gravity read along a fixed axis moves the step by its acceleration part,
/// acc_std·O(1) = 2e-3 of 1e-2, about 0.2 of it.
#[test]
fn the_equivariant_simulator_commutes_with_the_box_symmetries() {
    let device = default_inference_device();
    let g = [0.0, -0.001];
    let sim = square_box(g);
    let model = sim.init_network(&device);
    let n = 60;
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    // Particles everywhere, some within the radius of each wall; small random motion.
    let mut x: Vec<f32> = (0..2 * n).map(|_| rng.random_range(0.02..0.98)).collect();
    let mut frames = vec![x.clone()];
    for _ in 0..3 {
        for v in &mut x {
            *v += rng.random_range(-0.01..0.01);
        }
        frames.push(x.clone());
    }
    let kinds = vec![ParticleKind::Water; n];
    let next = |sim: &LearnedSimulator, model: &learnsim_models::ParticleModel, f: &[Vec<f32>]| {
        let refs: Vec<&[f32]> = f.iter().map(Vec::as_slice).collect();
        let acc = values(model.forward(&sim.featurize(&refs, &kinds), &device));
        sim.decode(&acc, &f[2], &f[3])
    };
    let out = next(&sim, &model, &frames);
    // (x, y) → (1 − y, x), gravity (gx, gy) → (−gy, gx); and (x, y) → (1 − x, y).
    type Map = fn([f64; 2]) -> [f64; 2];
    let maps: [(&str, Map, Map); 2] = [
        ("quarter turn", |p| [1.0 - p[1], p[0]], |v| [-v[1], v[0]]),
        ("mirror", |p| [1.0 - p[0], p[1]], |v| [-v[0], v[1]]),
    ];
    for (name, point, vector) in maps {
        let moved_sim = square_box(vector(g));
        // The same weights: only the gravity input (not a weight) differs.
        let moved_model = moved_sim
            .init_network(&device)
            .load_record(model.clone().into_record());
        let map_frame = |f: &[f32]| -> Vec<f32> {
            f.chunks(2)
                .flat_map(|p| point([f64::from(p[0]), f64::from(p[1])]).map(|c| c as f32))
                .collect()
        };
        let moved_frames: Vec<Vec<f32>> = frames.iter().map(|f| map_frame(f)).collect();
        let got = next(&moved_sim, &moved_model, &moved_frames);
        let want = map_frame(&out);
        // Compare the steps (next − current), whose scale is the motion, not the box.
        let step =
            |a: &[f32], b: &[f32]| -> Vec<f32> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
        let gap = relative_gap(
            &step(&got, &moved_frames[3]),
            &step(&want, &map_frame(&frames[3])),
        );
        assert!(
            gap < 1e-3,
            "{name}: the next frame moved differently by {gap} of the step"
        );
    }
}

/// decode(inverse(x)) = x with the isotropic normalisation (no velocity mean, one scale):
/// positions in [0, 1] as f32, so the round trip is exact to a few ulps (1e-6).
#[test]
fn decode_inverts_the_target_with_the_isotropic_normalisation() {
    let sim = square_box([0.0, -0.001]);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let a: Vec<f32> = (0..40).map(|_| rng.random_range(0.2..0.8)).collect();
    let b: Vec<f32> = a
        .iter()
        .map(|x| x + rng.random_range(-0.01..0.01))
        .collect();
    let c: Vec<f32> = b
        .iter()
        .map(|x| x + rng.random_range(-0.01..0.01))
        .collect();
    let target = sim.inverse(&c, &a, &b);
    for (x, y) in sim.decode(&target, &a, &b).iter().zip(&c) {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
}
