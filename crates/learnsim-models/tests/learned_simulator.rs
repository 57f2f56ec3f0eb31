//! Contracts of the learned simulator: round trip of decode, symmetries, gradients.

use burn::tensor::{Int, Tensor, TensorData};
use learnsim_core::ParticleKind;
use learnsim_models::{
    GraphInput, InteractionBlock, LearnedSimulator, LearnedSimulatorConfig, NodeExtras,
    Normalization, default_inference_device, default_training_device,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn simulator(periodic: bool) -> LearnedSimulator {
    LearnedSimulator {
        config: LearnedSimulatorConfig {
            dim: 2,
            history: 3,
            connectivity_radius: 0.1,
            bounds: vec![[0.0, 1.0]; 2],
            periodic: vec![periodic; 2],
            embedding_dim: 4,
            latent: 16,
            n_hidden: 1,
            message_passing_steps: 2,
            wall_horizon: 1.0,
            wall_nodes: Default::default(),
            material_features: 0,
            context_features: 0,
            architecture: Default::default(),
            vector_channels: 16,
        },
        normalization: Normalization {
            vel_mean: vec![0.001, -0.002],
            vel_std: vec![0.01, 0.02],
            acc_mean: vec![0.0, -0.0005],
            acc_std: vec![0.001, 0.002],
            context_mean: vec![],
            context_std: vec![],
        },
    }
}

/// Four frames of `n` particles drifting with small random steps.
fn frames(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x: Vec<f32> = (0..2 * n).map(|_| rng.random_range(0.2..0.8)).collect();
    let mut out = vec![x.clone()];
    for _ in 0..3 {
        for v in &mut x {
            *v += rng.random_range(-0.01..0.01);
        }
        out.push(x.clone());
    }
    out
}

/// The wall features with horizon h: distance/(h·R) clipped to [−1, 1]. At h = 1 they are
/// GNS's distance/R clipped (computed here independently), and a particle 2.5 R from the floor
/// is invisible at h = 1 (saturated at 1) but seen at 0.5 with h = 5.
#[test]
fn wall_features_with_horizon_h_scale_the_distance() {
    let f = frames(40, 3);
    let refs: Vec<&[f32]> = f.iter().map(Vec::as_slice).collect();
    let kinds = vec![ParticleKind::Water; 40];
    let base = simulator(false);
    let gns_wall = |x: f32, lo: f64, hi: f64| -> [f32; 2] {
        let r = base.config.connectivity_radius;
        [
            ((x as f64 - lo) / r).clamp(-1.0, 1.0) as f32,
            ((hi - x as f64) / r).clamp(-1.0, 1.0) as f32,
        ]
    };
    let input = base.featurize(&refs, &kinds);
    let width = input.node_width;
    let velocities = base.config.history * 2;
    for p in 0..40 {
        for a in 0..2 {
            let got = &input.node_features[p * width + velocities + 2 * a..][..2];
            let want = gns_wall(f[3][p * 2 + a], 0.0, 1.0);
            assert_eq!(got, want, "particle {p} axis {a}");
        }
    }
    let mut wide = simulator(false);
    wide.config.wall_horizon = 5.0;
    let near_floor: Vec<Vec<f32>> = (0..4).map(|_| vec![0.5, 0.25]).collect();
    let refs: Vec<&[f32]> = near_floor.iter().map(Vec::as_slice).collect();
    let one = [ParticleKind::Water];
    let at = velocities + 2; // the y axis's distance to the floor
    assert_eq!(base.featurize(&refs, &one).node_features[at], 1.0);
    let seen = wide.featurize(&refs, &one).node_features[at];
    assert!((seen - 0.5).abs() < 1e-6, "{seen}");
}

/// Mirror wall nodes: two particles near the floor (y = 0.03 and 0.06, R = 0.1) and one far
/// from every wall. Each near particle gets one image below the floor (y' = −y), of kind Wall,
/// after the particles, with its velocity history mirrored (vertical component negated) and
/// its wall features from the mirrored position; each image sends an edge to every particle
/// within R of it (both images reach both particles except image(0.06) → 0.06 at 0.12 > R)
/// and receives none. With `WallNodes::None` the graph is the particles' alone.
#[test]
fn mirror_wall_nodes_are_the_images_of_the_particles_near_a_wall() {
    let mut sim = simulator(false);
    let plain = sim.clone();
    sim.config.wall_nodes = learnsim_models::WallNodes::Mirror;
    // Positions per frame: (0.5, 0.03 + 0.001k), (0.52, 0.06 − 0.002k), (0.5, 0.5).
    let frames: Vec<Vec<f32>> = (0..4)
        .map(|k| {
            let k = k as f32;
            vec![0.5, 0.03 + 0.001 * k, 0.52, 0.06 - 0.002 * k, 0.5, 0.5]
        })
        .collect();
    let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
    let kinds = [ParticleKind::Water; 3];
    let without = plain.featurize(&refs, &kinds);
    let with = sim.featurize(&refs, &kinds);
    assert_eq!(without.n_nodes, 3);
    assert_eq!(with.n_nodes, 5);
    let width = with.node_width;
    assert_eq!(with.node_features[..3 * width], without.node_features[..]);
    let wall = ParticleKind::ALL
        .iter()
        .position(|k| *k == ParticleKind::Wall)
        .unwrap() as i64;
    assert_eq!(with.kind_index[3..], [wall, wall]);
    let norm = &sim.normalization;
    let (r, last_y) = (0.1f64, [0.033f64, 0.054]);
    for (image, (p, vy)) in [(0usize, 0.001f64), (1, -0.002)].into_iter().enumerate() {
        let node = &with.node_features[(3 + image) * width..(4 + image) * width];
        for k in 0..3 {
            // Horizontal velocity 0, vertical velocity negated.
            let vx = ((0.0 - norm.vel_mean[0]) / norm.vel_std[0]) as f32;
            let vy = ((-vy - norm.vel_mean[1]) / norm.vel_std[1]) as f32;
            assert!((node[2 * k] - vx).abs() < 1e-4, "image {image} vx");
            assert!(
                (node[2 * k + 1] - vy).abs() < 1e-4,
                "image {image} vy {} vs {vy}",
                node[2 * k + 1]
            );
        }
        // Below the floor: distance to it −y/R, clipped to −1 at most; to the ceiling ≥ 1.
        let to_floor = node[6 + 2];
        assert!(
            (f64::from(to_floor) + last_y[p] / r).abs() < 1e-5,
            "{to_floor}"
        );
        assert_eq!(node[6 + 3], 1.0);
    }
    // Edges into the particles: the particles' own plus the images' within R.
    let plain_edges = without.n_edges();
    let images: Vec<(i64, i64, Vec<f32>)> = (plain_edges..with.n_edges())
        .map(|e| {
            (
                with.senders[e],
                with.receivers[e],
                with.edge_features[e * 3..e * 3 + 3].to_vec(),
            )
        })
        .collect();
    let pairs: Vec<(i64, i64)> = images.iter().map(|(s, r, _)| (*s, *r)).collect();
    assert_eq!(pairs, [(3, 0), (3, 1), (4, 0)]);
    // Image of particle 0 to particle 0: straight down by 2y.
    let (_, _, own) = &images[0];
    assert!(own[0].abs() < 1e-6 && (f64::from(own[1]) + 2.0 * last_y[0] / r).abs() < 1e-5);
    assert!((f64::from(own[2]) - 2.0 * last_y[0] / r).abs() < 1e-5);
    assert!(!with.receivers.contains(&3) && !with.receivers.contains(&4));
}

#[test]
fn decode_of_inverse_is_identity() {
    for periodic in [false, true] {
        let sim = simulator(periodic);
        let f = frames(50, 1);
        let target = sim.inverse(&f[3], &f[1], &f[2]);
        let back = sim.decode(&target, &f[1], &f[2]);
        for (a, b) in back.iter().zip(&f[3]) {
            // f32 round trip through (x − mean)/std and back: a few ulps of values ≤ 1.
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}

#[test]
fn edge_features_are_translation_invariant() {
    let sim = simulator(true);
    let f = frames(60, 2);
    let kinds = vec![ParticleKind::Water; 60];
    let refs: Vec<&[f32]> = f.iter().map(Vec::as_slice).collect();
    let a = sim.featurize(&refs, &kinds);
    // A shift by a whole number of... any amount on a periodic box: same graph, same features.
    let shifted: Vec<Vec<f32>> = f
        .iter()
        .map(|frame| frame.iter().map(|x| (x + 0.37).rem_euclid(1.0)).collect())
        .collect();
    let refs: Vec<&[f32]> = shifted.iter().map(Vec::as_slice).collect();
    let b = sim.featurize(&refs, &kinds);
    assert_eq!(a.senders, b.senders);
    assert_eq!(a.receivers, b.receivers);
    for (x, y) in a.edge_features.iter().zip(&b.edge_features) {
        // Shifting an f32 coordinate by 0.37 (a sum below 2) and wrapping it (an exact
        // subtraction) rounds it by at most half an ulp of 2, 6e-8; a difference of two such
        // coordinates over R = 0.1 is off by at most 1.2e-6, its norm by at most √2 of that,
        // 1.7e-6, and storing either feature as f32 adds at most 6e-8: 2e-6 bounds both.
        assert!((x - y).abs() <= 2e-6, "{x} vs {y}");
    }
}

#[test]
fn permuting_particles_permutes_the_predictions() {
    let sim = simulator(false);
    let device = default_inference_device();
    let model = sim.init_model(&device);
    let n = 40;
    let f = frames(n, 3);
    let kinds: Vec<ParticleKind> = (0..n)
        .map(|p| {
            if p % 5 == 0 {
                ParticleKind::Wall
            } else {
                ParticleKind::Water
            }
        })
        .collect();
    let refs: Vec<&[f32]> = f.iter().map(Vec::as_slice).collect();
    let out: Vec<f32> = model
        .forward(&sim.featurize(&refs, &kinds), &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();

    let mut perm: Vec<usize> = (0..n).collect();
    perm.reverse();
    perm.swap(3, 17);
    let permuted: Vec<Vec<f32>> = f
        .iter()
        .map(|frame| {
            perm.iter()
                .flat_map(|&p| [frame[2 * p], frame[2 * p + 1]])
                .collect()
        })
        .collect();
    let pk: Vec<ParticleKind> = perm.iter().map(|&p| kinds[p]).collect();
    let refs: Vec<&[f32]> = permuted.iter().map(Vec::as_slice).collect();
    let out_p: Vec<f32> = model
        .forward(&sim.featurize(&refs, &pk), &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for (new, &old) in perm.iter().enumerate() {
        for a in 0..2 {
            // Sum aggregation in a different order: f32 rounding of a few dozen terms.
            let (x, y) = (out_p[2 * new + a], out[2 * old + a]);
            assert!(
                (x - y).abs() < 1e-4 * (1.0 + y.abs()),
                "particle {old}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn interaction_block_gradient_matches_finite_differences() {
    let device = default_training_device();
    device.seed(11);
    let block = InteractionBlock::new(6, 1, &device);
    let (n, e) = (5, 9);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let node_data: Vec<f32> = (0..n * 6).map(|_| rng.random_range(-1.0..1.0)).collect();
    let edge_data: Vec<f32> = (0..e * 6).map(|_| rng.random_range(-1.0..1.0)).collect();
    let senders: Vec<i64> = (0..e).map(|_| rng.random_range(0..n as i64)).collect();
    let receivers: Vec<i64> = (0..e).map(|_| rng.random_range(0..n as i64)).collect();
    let loss_of = |nodes: Vec<f32>, track: bool| {
        let mut t = Tensor::<2>::from_data(TensorData::new(nodes, [n, 6]), &device);
        if track {
            t = t.require_grad();
        }
        let edges = Tensor::<2>::from_data(TensorData::new(edge_data.clone(), [e, 6]), &device);
        let s = Tensor::<1, Int>::from_data(TensorData::new(senders.clone(), [e]), &device);
        let r = Tensor::<1, Int>::from_data(TensorData::new(receivers.clone(), [e]), &device);
        let (v, ed) = block.forward(t.clone(), edges, s, r);
        (t, v.powf_scalar(2.0).sum() + ed.sin().sum())
    };
    let (input, loss) = loss_of(node_data.clone(), true);
    let grads = loss.backward();
    let analytic: Vec<f32> = input
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    // Central differences in f32 with h = 1e-3: truncation O(h²·f‴) ≈ 1e-6, rounding
    // ≈ ε·|loss|/(2h) ≈ 6e-8·30/2e-3 ≈ 1e-3 on losses of size ~30, so 2e-2 relative (plus 2e-2
    // absolute) is ample yet catches a wrong sign, a missing residual or a dropped message.
    // ReLU makes the loss piecewise smooth: where the ±h probe straddles a kink, the two step
    // sizes disagree and that coordinate is skipped; most coordinates must still be checked.
    let fd = |k: usize, h: f32| {
        let mut plus = node_data.clone();
        plus[k] += h;
        let mut minus = node_data.clone();
        minus[k] -= h;
        let lp: f32 = loss_of(plus, false).1.into_scalar();
        let lm: f32 = loss_of(minus, false).1.into_scalar();
        (lp - lm) / (2.0 * h)
    };
    let mut checked = 0;
    for k in 0..n * 6 {
        let (coarse, fine) = (fd(k, 1e-3), fd(k, 2.5e-4));
        if (coarse - fine).abs() > 1e-2 * (1.0 + coarse.abs()) {
            continue; // a kink between the probes
        }
        checked += 1;
        assert!(
            (coarse - analytic[k]).abs() < 2e-2 * (1.0 + analytic[k].abs()),
            "dL/dx[{k}]: fd {coarse} vs autodiff {}",
            analytic[k]
        );
    }
    assert!(
        checked >= n * 6 * 3 / 4,
        "only {checked} of {} coordinates were smooth",
        n * 6
    );
}

#[test]
fn batching_offsets_node_indices() {
    let a = GraphInput {
        n_nodes: 2,
        node_width: 1,
        node_features: vec![0.0; 2],
        kind_index: vec![0; 2],
        edge_features: vec![0.0; 3],
        senders: vec![1],
        receivers: vec![0],
    };
    let both = GraphInput::concat(&[a.clone(), a]);
    assert_eq!(both.n_nodes, 4);
    assert_eq!(both.senders, vec![1, 3]);
    assert_eq!(both.receivers, vec![0, 2]);
}

#[test]
fn interaction_network_is_permutation_equivariant() {
    use learnsim_models::InteractionNetworkConfig;
    // All ordered pairs of 5 objects; permuting the objects (and relabelling the relations)
    // permutes the outputs. Summation order changes, so equality holds to f32 rounding of sums
    // of ~4 effects of size O(1): 1e-5.
    let device = default_inference_device();
    let net = InteractionNetworkConfig::new(3, 3, 2).init(&device);
    let n = 5;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let objects: Vec<f32> = (0..3 * n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let pos: Vec<[f32; 2]> = (0..n)
        .map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
        .collect();
    let run = |perm: &[usize]| -> Vec<f32> {
        // perm[new] = old
        let objs: Vec<f32> = perm
            .iter()
            .flat_map(|&o| objects[3 * o..3 * o + 3].to_vec())
            .collect();
        let (mut attrs, mut senders, mut receivers) = (vec![], vec![], vec![]);
        for r in 0..n {
            for s in 0..n {
                if r != s {
                    let d = [
                        pos[perm[s]][0] - pos[perm[r]][0],
                        pos[perm[s]][1] - pos[perm[r]][1],
                    ];
                    attrs.extend([d[0], d[1], d[0].hypot(d[1])]);
                    senders.push(s as i64);
                    receivers.push(r as i64);
                }
            }
        }
        let e = senders.len();
        let out = net.forward(
            Tensor::<2>::from_data(TensorData::new(objs, [n, 3]), &device),
            Tensor::<2>::from_data(TensorData::new(attrs, [e, 3]), &device),
            Tensor::<1, Int>::from_data(TensorData::new(senders, [e]), &device),
            Tensor::<1, Int>::from_data(TensorData::new(receivers, [e]), &device),
        );
        out.into_data().try_to_vec::<f32>().unwrap()
    };
    let identity: Vec<usize> = (0..n).collect();
    let perm = vec![3, 0, 4, 1, 2];
    let (a, b) = (run(&identity), run(&perm));
    for (new, &old) in perm.iter().enumerate() {
        for k in 0..2 {
            assert!(
                (b[2 * new + k] - a[2 * old + k]).abs() < 1e-5,
                "object {old}: {} vs {}",
                b[2 * new + k],
                a[2 * old + k]
            );
        }
    }
}

#[test]
fn fused_kernel_computes_the_burn_forward_pass_on_featurized_frames() {
    // 300 particles (about 26 neighbours each at R = 0.1): several 128-row blocks of nodes and
    // of edges. Two MLP depths; the workspace is reused across graphs of different sizes.
    for n_hidden in [1, 2] {
        let mut sim = simulator(false);
        sim.config.n_hidden = n_hidden;
        let device = default_inference_device();
        let model = sim.init_model(&device);
        let mut fused = model.fused();
        for (n, seed) in [(300, 5), (37, 6), (300, 5)] {
            let f = frames(n, seed);
            let refs: Vec<&[f32]> = f.iter().map(Vec::as_slice).collect();
            let kinds: Vec<ParticleKind> = (0..n)
                .map(|p| {
                    if p % 7 == 0 {
                        ParticleKind::Sand
                    } else {
                        ParticleKind::Water
                    }
                })
                .collect();
            let input = sim.featurize(&refs, &kinds);
            assert!(
                n < 300 || input.n_edges() > 1000,
                "{} edges",
                input.n_edges()
            );
            let want: Vec<f32> = model
                .forward(&input, &device)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let got = fused.forward(&input);
            assert_eq!(got.len(), want.len());
            // Same parameters and function, summed in another order (gemm's blocking, the
            // segmented sum over receivers): f32 rounding through two residual blocks with
            // LayerNorm, measured ~1e-6 on outputs of O(1); 1e-4·(1 + |y|) leaves room and is
            // far below a real mistake (a dropped bias or residual moves outputs by O(0.1)).
            for (k, (x, y)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (x - y).abs() < 1e-4 * (1.0 + y.abs()),
                    "n_hidden {n_hidden}, n {n}, output {k}: fused {x} vs burn {y}"
                );
            }
        }
    }
}

/// Issue #38: a material feature is appended to every node as stored (geoelements appends
/// tan φ unnormalised) and the step context is normalised with the dataset's statistics and
/// broadcast to every node (DeepMind's encoder); everything else, edges included, is the
/// plain featurization, and the network takes the wider input.
#[test]
fn material_and_context_are_appended_to_every_node() {
    let f = frames(5, 1);
    let refs: Vec<&[f32]> = f.iter().map(Vec::as_slice).collect();
    let kinds = vec![ParticleKind::Sand; 5];
    let plain_sim = simulator(false);
    let plain = plain_sim.featurize(&refs, &kinds);
    let mut sim = simulator(false);
    sim.config.material_features = 1;
    sim.config.context_features = 2;
    sim.normalization.context_mean = vec![1.0, -1.0];
    sim.normalization.context_std = vec![2.0, 0.5];
    let material = [0.1, 0.2, 0.3, 0.4, 0.5];
    let input = sim.featurize_with_extras(
        &refs,
        &kinds,
        NodeExtras {
            material: &material,
            context: &[3.0, 0.0],
        },
    );
    let (w, pw) = (input.node_width, plain.node_width);
    assert_eq!(w, pw + 3);
    for p in 0..5 {
        let row = &input.node_features[p * w..(p + 1) * w];
        assert_eq!(row[..pw], plain.node_features[p * pw..(p + 1) * pw]);
        // (3 − 1)/2 = 1 and (0 − (−1))/0.5 = 2, exact in f32.
        assert_eq!(row[pw..], [material[p], 1.0, 2.0]);
    }
    assert_eq!(input.edge_features, plain.edge_features);
    assert_eq!(input.senders, plain.senders);
    let device = default_inference_device();
    let out = sim.init_model(&device).forward(&input, &device);
    assert_eq!(out.dims(), [5, 2]);
}

/// The fused inference kernel in 3D (issue #35): featurized 3D frames (4 edge inputs, 3
/// outputs) give burn's forward pass. Tolerance as in the 2D test above.
#[test]
fn fused_kernel_computes_the_burn_forward_pass_in_3d() {
    let mut sim = simulator(false);
    sim.config.dim = 3;
    sim.config.bounds = vec![[0.0, 1.0]; 3];
    sim.config.periodic = vec![false, true, false];
    sim.normalization = Normalization {
        vel_mean: vec![0.001, -0.002, 0.0],
        vel_std: vec![0.01, 0.02, 0.015],
        acc_mean: vec![0.0, -0.0005, 0.0001],
        acc_std: vec![0.001, 0.002, 0.0015],
        context_mean: vec![],
        context_std: vec![],
    };
    sim.config.connectivity_radius = 0.15;
    let device = default_inference_device();
    let model = sim.init_model(&device);
    let mut fused = model.fused();
    let n = 400;
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let mut x: Vec<f32> = (0..3 * n).map(|_| rng.random_range(0.1..0.9)).collect();
    let mut frames = vec![x.clone()];
    for _ in 0..3 {
        x.iter_mut()
            .for_each(|v| *v += rng.random_range(-0.01..0.01));
        frames.push(x.clone());
    }
    let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
    let kinds = vec![ParticleKind::Water; n];
    let input = sim.featurize(&refs, &kinds);
    assert_eq!(input.edge_features.len(), 4 * input.n_edges());
    assert!(input.n_edges() > 2000, "{} edges", input.n_edges());
    let want: Vec<f32> = model
        .forward(&input, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let got = fused.forward(&input);
    assert_eq!(got.len(), 3 * n);
    for (k, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() < 1e-4 * (1.0 + b.abs()),
            "output {k}: fused {a} vs burn {b}"
        );
    }
}
