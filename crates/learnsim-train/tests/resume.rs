//! A run killed and resumed continues with the same loss curve as an uninterrupted run.

use learnsim_core::Metadata;
use learnsim_models::default_training_device;
use learnsim_sim::{Case, Split, Tier, trajectory_seed};
use learnsim_train::{TrainConfig, Trainer};

fn tiny_config() -> TrainConfig {
    TrainConfig {
        seed: 3,
        steps: 6,
        batch_size: 2,
        lr_initial: 1e-3,
        lr_final: 1e-4,
        lr_decay_steps: 1000.0,
        noise_std: 3e-4,
        history: 5,
        connectivity_radius: None,
        embedding_dim: 4,
        latent: 16,
        n_hidden: 1,
        message_passing_steps: 2,
        validate_every: 3,
        validation_windows: 2,
        checkpoint_every: 3,
    }
}

fn data() -> (Vec<learnsim_core::Trajectory>, Metadata) {
    let train: Vec<_> = (0..2)
        .map(|i| {
            Case::WaterDrop2d
                .simulate(Tier::Cpu, trajectory_seed(9, Split::Train, i), 12, &|| {})
                .unwrap()
        })
        .collect();
    let info = Case::WaterDrop2d.info(Tier::Cpu);
    let stats = learnsim_data::difference_stats(&train, &[None, None]);
    let metadata = Metadata {
        dim: 2,
        bounds: info.bounds,
        dt: info.frame_dt,
        default_connectivity_radius: info.connectivity_radius,
        periodic_boundary_conditions: info.periodic,
        num_particles_max: 600,
        sequence_length_train: 11,
        sequence_length_test: 11,
        vel_mean: stats.vel_mean,
        vel_std: stats.vel_std,
        acc_mean: stats.acc_mean,
        acc_std: stats.acc_std,
        dx: info.dx,
        particle_type_convention: info.convention,
        gravity: info.gravity,
        case: "water-drop-2d".into(),
        solver: "mls-mpm".into(),
        tier: "cpu".into(),
        seed: 9,
        num_trajectories: [2, 0, 0],
    };
    (train, metadata)
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let (train, metadata) = data();
    let mut straight = Trainer::new(tiny_config(), &metadata, default_training_device());
    let full: Vec<f32> = (0..6)
        .map(|_| straight.train_step(&train).unwrap())
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let mut first = Trainer::new(tiny_config(), &metadata, default_training_device());
    for _ in 0..3 {
        first.train_step(&train).unwrap();
    }
    first.save_checkpoint(&checkpoint).unwrap();
    drop(first); // the "kill"

    // A new process would build a fresh trainer (different initial weights are fine: the
    // checkpoint overwrites them) and load the checkpoint.
    let mut resumed = Trainer::new(
        TrainConfig {
            seed: 3,
            ..tiny_config()
        },
        &metadata,
        default_training_device(),
    );
    resumed.load_checkpoint(&checkpoint).unwrap();
    assert_eq!(resumed.state.step, 3);
    let tail: Vec<f32> = (0..3)
        .map(|_| resumed.train_step(&train).unwrap())
        .collect();
    let curve: Vec<f32> = resumed.state.train_loss.iter().map(|p| p.loss).collect();
    assert_eq!(curve.len(), 6);
    for (k, (a, b)) in full.iter().zip(curve.iter()).enumerate() {
        // Same batches, same weights, same Adam moments: identical up to f32 summation order,
        // which the CPU backend keeps fixed, so equality is expected; 1e-6 relative allows for
        // a reordered reduction.
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1e-12),
            "step {k}: {a} vs {b} (tail {tail:?})"
        );
    }
}

#[test]
fn training_lowers_the_one_step_loss() {
    let (train, metadata) = data();
    // Noise far below the data's velocity scale, so that fitting the noisy targets also fits
    // the clean ones the evaluation uses.
    let config = TrainConfig {
        steps: 40,
        noise_std: 1e-6,
        ..tiny_config()
    };
    let mut trainer = Trainer::new(config, &metadata, default_training_device());
    let before = trainer.evaluate(&train).unwrap();
    for _ in 0..40 {
        trainer.train_step(&train).unwrap();
    }
    let after = trainer.evaluate(&train).unwrap();
    assert!(after < 0.8 * before, "loss {before} -> {after}");
}
