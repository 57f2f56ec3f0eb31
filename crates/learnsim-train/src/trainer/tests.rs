//! The trainer's unit tests: the noise-corrected target and the Adam state's encoding.

use super::checkpoint::{decode_adam, encode_adam};
use super::*;
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
    let info = Case::WaterDrop2d.info(Tier::Cpu);
    let metadata = Metadata {
        dim: 2,
        bounds: info.bounds,
        dt: info.frame_dt,
        default_connectivity_radius: info.connectivity_radius,
        periodic_boundary_conditions: info.periodic,
        num_particles_max: t.n_particles,
        sequence_length_train: 11,
        sequence_length_test: 11,
        vel_mean: vec![1e-4, -2e-3],
        vel_std: vec![2e-3, 3e-3],
        acc_mean: vec![0.0, -6e-5],
        acc_std: vec![1e-4, 2e-4],
        dx: info.dx,
        particle_type_convention: info.convention,
        gravity: info.gravity,
        case: "water-drop-2d".into(),
        solver: "mls-mpm".into(),
        tier: "cpu".into(),
        seed: 1,
        num_trajectories: [1, 0, 0],
        scene: None,
        features: Default::default(),
    };
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
    let (input, target, _) = trainer.example(&window, sigma, 0, &mut rng);
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
