//! The trainer's unit tests: the noise-corrected target and the Adam state's encoding.

use super::checkpoint::{decode_adam, encode_adam};
use super::*;
use learnsim_core::ParticleKind;
use learnsim_models::AdamState;

/// The training target is noise-corrected as GNS's (`train.py`: the target keeps the last
/// input frame's noise): whatever the random-walk noise on the window, the velocity the
/// target decodes to (the last noisy input velocity plus the target acceleration) is the
/// true next velocity x₈ − x₇. Taking the target from the clean next frame instead leaves
/// the last frame's noise in it: an error of order σ = 1e-3, where f32 rounding of
/// positions near 0.5 gives at most a few 1e-8 (bound 1e-6).
#[test]
fn the_target_decodes_to_the_true_next_velocity_under_noise() {
    use learnsim_sim::{Case, Split, Tier, trajectory_seed};
    let t = Case::WaterDrop2d
        .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 12, &|| {})
        .unwrap();
    let metadata = water_drop_metadata(&t, [0.0, -6e-5], None);
    let config: TrainConfig = toml::from_str(
        "seed = 0\nsteps = 1\nbatch_size = 1\nlr_initial = 1e-3\nlr_final = 1e-4\n\
         noise_std = 1e-3\nhistory = 5\nconnectivity_radius = 0.02\nembedding_dim = 4\n\
         latent = 8\nn_hidden = 1\nmessage_passing_steps = 1\nvalidate_every = 1\n\
         validation_windows = 1\ncheckpoint_every = 1\n",
    )
    .unwrap();
    let sigma = config.noise_std;
    let trainer = Trainer::new(
        config,
        &metadata,
        learnsim_models::default_training_device(),
    );
    let window = Window {
        trajectory: &t,
        last_input: 7,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let noise = trainer.noise(&window, sigma, &mut rng);
    let (input, target, _) = trainer.example(&window, &noise, 0, None);
    let norm = &trainer.simulator.normalization;
    let (dim, c, w) = (2, 5, input.node_width);
    let (x6, x7, x8) = (t.frame(6), t.frame(7), t.frame(8));
    let mut noisy = 0;
    for p in 0..t.n_particles {
        for a in 0..dim {
            let k = p * dim + a;
            let v_last = f64::from(input.node_features[p * w + (c - 1) * dim + a])
                * norm.vel_std[a]
                + norm.vel_mean[a];
            let acc = f64::from(target[k]) * norm.acc_std[a] + norm.acc_mean[a];
            let truth = f64::from(x8[k]) - f64::from(x7[k]);
            assert!(
                (v_last + acc - truth).abs() < 1e-6,
                "particle {p}, axis {a}: decoded {} vs true {truth}",
                v_last + acc
            );
            if (v_last - (f64::from(x7[k]) - f64::from(x6[k]))).abs() > 1e-5 {
                noisy += 1;
            }
        }
    }
    // The input really was noisy: the last velocity differs from the true one almost
    // everywhere (σ/√5 ≈ 4.5e-4 per frame increment against the 1e-5 threshold).
    assert!(noisy > t.n_particles * dim * 9 / 10, "{noisy} noisy values");
}

/// `augmentation = "reflect-x"`: a mirrored window is the window seen in a mirror. Without
/// noise, every decoded input velocity and target acceleration of the window mirrored across
/// x = 0.5 (bounds [0.1, 0.9]) is the original's with its x component negated and its y
/// component unchanged. Tolerance: positions near 0.5 carry f32 rounding of 3e-8 each, and
/// 1 − x adds as much again; a second difference of four such errors stays under 3e-7, so
/// 1e-6 (the accelerations themselves are ~1e-4).
///
/// The same trainer on data whose gravity has an x component refuses to train, naming the
/// option.
#[test]
fn a_mirrored_window_is_the_window_seen_in_a_mirror() {
    use learnsim_sim::{Case, Split, Tier, trajectory_seed};
    let t = Case::WaterDrop2d
        .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 40, &|| {})
        .unwrap();
    let metadata = |gravity: Vec<f64>| water_drop_metadata(&t, [2e-6, -6e-5], Some(gravity));
    let config: TrainConfig = toml::from_str(
        "seed = 0\nsteps = 1\nbatch_size = 1\nlr_initial = 1e-3\nlr_final = 1e-4\n\
         noise_std = 0.0\nhistory = 5\nconnectivity_radius = 0.02\nembedding_dim = 4\n\
         latent = 8\nn_hidden = 1\nmessage_passing_steps = 1\nvalidate_every = 1\n\
         validation_windows = 1\ncheckpoint_every = 1\naugmentation = \"reflect-x\"\n",
    )
    .unwrap();
    let trainer = Trainer::new(
        config.clone(),
        &metadata(Case::WaterDrop2d.info(Tier::Cpu).gravity),
        learnsim_models::default_training_device(),
    );
    assert_eq!(trainer.reflect_x, Some(Ok(1.0)));
    // A window in the fall and one after the landing, both with motion along x.
    for last_input in [7, 35] {
        let window = Window {
            trajectory: &t,
            last_input,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let noise = trainer.noise(&window, 0.0, &mut rng);
        let (plain, plain_target, _) = trainer.example(&window, &noise, 0, None);
        let (mirror, mirror_target, _) = trainer.example(&window, &noise, 0, Some(1.0));
        let norm = &trainer.simulator.normalization;
        let (dim, c, w) = (2, 5, plain.node_width);
        let mut moving = 0;
        for p in 0..t.n_particles {
            for a in 0..dim {
                let sign = if a == 0 { -1.0 } else { 1.0 };
                let velocity = |input: &GraphInput| {
                    f64::from(input.node_features[p * w + (c - 1) * dim + a]) * norm.vel_std[a]
                        + norm.vel_mean[a]
                };
                let acceleration = |target: &[f32]| {
                    f64::from(target[p * dim + a]) * norm.acc_std[a] + norm.acc_mean[a]
                };
                let (v, v_mirror) = (velocity(&plain), velocity(&mirror));
                assert!(
                    (v_mirror - sign * v).abs() < 1e-6,
                    "frame {last_input}, particle {p}, axis {a}: velocity {v_mirror} vs {v}"
                );
                let (acc, acc_mirror) = (acceleration(&plain_target), acceleration(&mirror_target));
                assert!(
                    (acc_mirror - sign * acc).abs() < 1e-6,
                    "frame {last_input}, particle {p}, axis {a}: acceleration {acc_mirror} vs {acc}"
                );
                if a == 0 && v.abs() > 1e-4 {
                    moving += 1;
                }
            }
        }
        assert!(moving > 0, "frame {last_input}: nothing moves along x");
    }

    let tilted = Trainer::new(
        config,
        &metadata(vec![-1.0, -9.8]),
        learnsim_models::default_training_device(),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let refused = tilted.batch(std::slice::from_ref(&t), &mut rng, 0.0, 0, 0..1);
    let Err(error) = refused else {
        panic!("mirrored windows under an x gravity were accepted")
    };
    let message = error.to_string();
    assert!(
        message.contains("reflect-x") && message.contains("x component"),
        "{message}"
    );
}

#[test]
fn adam_state_round_trips_and_bad_bytes_are_refused() {
    let state = AdamState {
        steps: 7,
        first: vec![vec![1.0, -2.5], vec![], vec![3e-8]],
        second: vec![vec![0.5, 0.25], vec![], vec![1e-12]],
    };
    let bytes = encode_adam(&state);
    assert_eq!(decode_adam(&bytes).unwrap(), state);
    for cut in [0, 5, 12, bytes.len() - 1] {
        let e = decode_adam(&bytes[..cut]).unwrap_err();
        assert!(e.contains("truncated") || e.contains("magic"), "{cut}: {e}");
    }
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(decode_adam(&bad).unwrap_err().contains("magic"));
    let mut long = bytes.clone();
    long.push(0);
    assert!(
        decode_adam(&long)
            .unwrap_err()
            .contains("after the last array")
    );
    let mut huge = bytes.clone();
    huge[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(
        decode_adam(&huge)
            .unwrap_err()
            .contains("more than the file holds")
    );
    let mut nan = bytes;
    let at = nan.len() - 4;
    nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(decode_adam(&nan).unwrap_err().contains("NaN"));
}

/// Metadata of one water-drop trajectory `t` with fixed statistics (the tests check decoding,
/// which any normalisation round-trips), `acc_mean` as given and the case's gravity unless
/// another is given.
fn water_drop_metadata(t: &Trajectory, acc_mean: [f64; 2], gravity: Option<Vec<f64>>) -> Metadata {
    use learnsim_sim::{Case, Tier};
    let info = Case::WaterDrop2d.info(Tier::Cpu);
    Metadata {
        dim: 2,
        bounds: info.bounds,
        dt: info.frame_dt,
        default_connectivity_radius: info.connectivity_radius,
        periodic_boundary_conditions: info.periodic,
        num_particles_max: t.n_particles,
        sequence_length_train: t.n_frames - 1,
        sequence_length_test: t.n_frames - 1,
        vel_mean: vec![1e-4, -2e-3],
        vel_std: vec![2e-3, 3e-3],
        acc_mean: acc_mean.to_vec(),
        acc_std: vec![1e-4, 2e-4],
        dx: info.dx,
        particle_type_convention: info.convention,
        gravity: gravity.unwrap_or(info.gravity),
        case: "water-drop-2d".into(),
        solver: "mls-mpm".into(),
        tier: "cpu".into(),
        seed: 1,
        num_trajectories: [1, 0, 0],
        scene: None,
        features: Default::default(),
    }
}

/// `rigid_target = "rigid"`: the target of a rigid body's noisy particles is the true next
/// body moved by the rigid part of the noise. Decoded from the noisy input, the target's box
/// (boxbath-2d, 64 particles) is rigid: its shape error against the true next box is f32
/// rounding (positions near 0.5 carry 3e-8 each, a decode adds a few more: bound 1e-6),
/// while GNS's target keeps the noise's deformation, about σ = 1e-3 per particle (bound: over
/// 1e-4). The rigid part is kept: the box's centroid moves by the noise's mean over its
/// particles in both targets (same bound). Fluid targets are the same in both.
#[test]
fn the_rigid_target_keeps_the_noise_s_rigid_motion_and_undoes_its_deformation() {
    use learnsim_eval::rigid_fit::{points_2d, rigid_particles, shape_error_2d};
    use learnsim_sim::{Case, Split, Tier, trajectory_seed};
    let t = Case::BoxBath2d
        .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 10, &|| {})
        .unwrap();
    let info = Case::BoxBath2d.info(Tier::Cpu);
    let metadata = Metadata {
        bounds: info.bounds,
        default_connectivity_radius: info.connectivity_radius,
        particle_type_convention: info.convention,
        ..water_drop_metadata(&t, [0.0, -6e-5], None)
    };
    let config = |target: &str| tiny_config(0.018125, &format!("rigid_target = \"{target}\""));
    let [rigid_trainer, gns_trainer] = [config("rigid"), config("keep-noise")]
        .map(|c| Trainer::new(c, &metadata, learnsim_models::default_training_device()));
    let (window, noise) = noisy_window(&t, &rigid_trainer);
    let per_frame = t.n_particles * 2;
    let noisy = |k: usize| -> Vec<f32> {
        t.frame(k)
            .iter()
            .zip(&noise[(k - 2) * per_frame..(k - 1) * per_frame])
            .map(|(x, n)| x + n)
            .collect()
    };
    let (previous, current) = (noisy(6), noisy(7));
    let body = rigid_particles(&t.kind);
    assert_eq!(body.len(), 64);
    let truth_next = points_2d(t.frame(8), &body, &[None, None]);
    let centroid = |p: &[[f64; 2]]| -> [f64; 2] {
        std::array::from_fn(|a| p.iter().map(|x| x[a]).sum::<f64>() / p.len() as f64)
    };
    let noise_mean: [f64; 2] = std::array::from_fn(|a| {
        body.iter()
            .map(|&i| f64::from(noise[5 * per_frame + 2 * i + a]))
            .sum::<f64>()
            / body.len() as f64
    });
    let decoded = |trainer: &Trainer| {
        let (_, target, _) = trainer.example(&window, &noise, 0, None);
        let next = trainer.simulator.decode(&target, &previous, &current);
        (points_2d(&next, &body, &[None, None]), next)
    };
    let (rigid_box, rigid_next) = decoded(&rigid_trainer);
    let (gns_box, gns_next) = decoded(&gns_trainer);
    let rigid_shape = shape_error_2d(&truth_next, &rigid_box);
    let gns_shape = shape_error_2d(&truth_next, &gns_box);
    assert!(
        rigid_shape < 1e-6,
        "rigid target's shape error {rigid_shape}"
    );
    assert!(gns_shape > 1e-4, "GNS target's shape error {gns_shape}");
    for b in [&rigid_box, &gns_box] {
        let (moved, truth) = (centroid(b), centroid(&truth_next));
        for a in 0..2 {
            assert!(
                (moved[a] - truth[a] - noise_mean[a]).abs() < 1e-6,
                "axis {a}: centroid moved by {} against the noise's mean {}",
                moved[a] - truth[a],
                noise_mean[a]
            );
        }
    }
    for (i, kind) in t.kind.iter().enumerate() {
        if *kind != ParticleKind::Rigid {
            assert_eq!(rigid_next[2 * i..2 * i + 2], gns_next[2 * i..2 * i + 2]);
        }
    }
}

/// `rigid_loss_weight`: in the loss's mask a rigid body's particles weigh the configured
/// weight, wall particles 0 and fluid particles 1 (boxbath-2d); 3D data refuse
/// `rigid_target = "rigid"` at the first batch, naming the option.
#[test]
fn rigid_particles_weigh_the_configured_weight_in_the_loss() {
    use learnsim_sim::{Case, Split, Tier, trajectory_seed};
    let t = Case::BoxBath2d
        .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 10, &|| {})
        .unwrap();
    let metadata = water_drop_metadata(&t, [0.0, -6e-5], None);
    let config = TrainConfig {
        noise_std: 0.0,
        ..tiny_config(0.018125, "rigid_loss_weight = 10.0")
    };
    let trainer = Trainer::new(
        config.clone(),
        &metadata,
        learnsim_models::default_training_device(),
    );
    let window = Window {
        trajectory: &t,
        last_input: 7,
    };
    let noise = vec![0.0; 6 * t.n_particles * 2];
    let (_, _, mask) = trainer.example(&window, &noise, 0, None);
    let mut seen = std::collections::BTreeMap::new();
    for (i, kind) in t.kind.iter().enumerate() {
        let expected = match kind {
            ParticleKind::Rigid => 10.0,
            k if k.is_kinematic() => 0.0,
            _ => 1.0,
        };
        assert_eq!(mask[2 * i..2 * i + 2], [expected, expected], "{kind:?}");
        *seen.entry(kind.name()).or_insert(0) += 1;
    }
    assert_eq!(seen.get("rigid"), Some(&64));
    assert!(seen.get("wall").is_some_and(|&n| n > 0) && seen.get("water").is_some_and(|&n| n > 0));

    let flat: Vec<f32> = t
        .frame(0)
        .chunks(2)
        .flat_map(|p| [p[0], p[1], 0.5])
        .collect();
    let t3 = Trajectory::new(3, 10, flat.repeat(10), t.kind.clone()).unwrap();
    let metadata3 = Metadata {
        dim: 3,
        bounds: vec![[0.0, 1.0]; 3],
        periodic_boundary_conditions: vec![false; 3],
        vel_mean: vec![0.0; 3],
        vel_std: vec![1.0; 3],
        acc_mean: vec![0.0; 3],
        acc_std: vec![1.0; 3],
        gravity: vec![0.0; 3],
        ..metadata
    };
    let mut trainer3 = Trainer::new(
        TrainConfig {
            rigid_target: RigidTarget::Rigid,
            ..config
        },
        &metadata3,
        learnsim_models::default_training_device(),
    );
    let error = trainer3.train_step(&[t3]).unwrap_err().to_string();
    assert!(error.contains("rigid_target"), "{error}");
}

/// `noise_correction = "uncorrected"`: decoded from the noisy input, the target acceleration is
/// the true one, x₈ − 2x₇ + x₆, whatever the noise (same tolerance as the corrected target's
/// test: f32 positions near 0.5, bound 1e-6); GNS's corrected target differs from it by the
/// last velocity's noise increment, about σ/√5 = 4.5e-4 here (bound: over 1e-5 for most values).
#[test]
fn the_uncorrected_target_is_the_true_acceleration_under_noise() {
    use learnsim_sim::{Case, Split, Tier, trajectory_seed};
    let t = Case::WaterDrop2d
        .simulate(Tier::Cpu, trajectory_seed(1, Split::Train, 0), 12, &|| {})
        .unwrap();
    let metadata = water_drop_metadata(&t, [0.0, -6e-5], None);
    let config =
        |correction: &str| tiny_config(0.02, &format!("noise_correction = \"{correction}\""));
    let [uncorrected, corrected] = [config("uncorrected"), config("velocity")]
        .map(|c| Trainer::new(c, &metadata, learnsim_models::default_training_device()));
    let (window, noise) = noisy_window(&t, &uncorrected);
    let norm = &uncorrected.simulator.normalization;
    let (_, target, _) = uncorrected.example(&window, &noise, 0, None);
    let (_, gns_target, _) = corrected.example(&window, &noise, 0, None);
    let (x6, x7, x8) = (t.frame(6), t.frame(7), t.frame(8));
    let mut differ = 0;
    for k in 0..t.n_particles * 2 {
        let a = k % 2;
        let decode = |y: f32| f64::from(y) * norm.acc_std[a] + norm.acc_mean[a];
        let truth = f64::from(x8[k]) - 2.0 * f64::from(x7[k]) + f64::from(x6[k]);
        assert!(
            (decode(target[k]) - truth).abs() < 1e-6,
            "value {k}: target {} vs true acceleration {truth}",
            decode(target[k])
        );
        if (decode(gns_target[k]) - truth).abs() > 1e-5 {
            differ += 1;
        }
    }
    assert!(
        differ > t.n_particles * 2 * 9 / 10,
        "{differ} corrected values"
    );
}

/// A one-layer trainer's config with σ = 1e-3 at `radius`, plus the TOML lines `extra`.
fn tiny_config(radius: f64, extra: &str) -> TrainConfig {
    toml::from_str(&format!(
        "seed = 0\nsteps = 1\nbatch_size = 1\nlr_initial = 1e-3\nlr_final = 1e-4\n\
         noise_std = 1e-3\nhistory = 5\nconnectivity_radius = {radius}\nembedding_dim = 4\n\
         latent = 8\nn_hidden = 1\nmessage_passing_steps = 1\nvalidate_every = 1\n\
         validation_windows = 1\ncheckpoint_every = 1\n{extra}\n"
    ))
    .unwrap()
}

/// The window ending at input frame 7 of `t` and random-walk noise of σ = 1e-3 on it (seed 5).
fn noisy_window<'a>(t: &'a Trajectory, trainer: &Trainer) -> (Window<'a>, Vec<f32>) {
    let window = Window {
        trajectory: t,
        last_input: 7,
    };
    let noise = trainer.noise(&window, 1e-3, &mut ChaCha8Rng::seed_from_u64(5));
    (window, noise)
}
