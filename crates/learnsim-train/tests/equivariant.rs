//! The equivariant network through the trainer (issue #32): `model = "egnn"` selects it, its
//! normalisation is isotropic, it learns, and a checkpoint resumes it to the same curve.

use crate::common::{data, tiny_config};
use learnsim_models::{Architecture, ParticleModel, default_training_device};
use learnsim_train::{TrainConfig, TrainKernel, Trainer, Validate};

fn egnn() -> TrainConfig {
    TrainConfig {
        model: Architecture::Egnn,
        vector_channels: 8,
        ..tiny_config()
    }
}

#[test]
fn egnn_is_chosen_by_the_config_and_normalises_isotropically() {
    let (_, metadata) = data();
    let trainer = Trainer::new(egnn(), &metadata, default_training_device());
    assert!(matches!(trainer.model, ParticleModel::Egnn(_)));
    let norm = &trainer.simulator.normalization;
    assert_eq!(norm.vel_mean, vec![0.0; 2]);
    assert_eq!(norm.vel_std[0], norm.vel_std[1]);
    assert_eq!(norm.acc_std[0], norm.acc_std[1]);
    // The offset is gravity per frame (a vector input of the network), not the data's mean.
    assert_eq!(norm.acc_mean, metadata.gravity_per_frame());
    // Between the two per-axis stds (their root mean square).
    let (lo, hi) = (
        metadata.acc_std[0].min(metadata.acc_std[1]),
        metadata.acc_std[0].max(metadata.acc_std[1]),
    );
    assert!(lo <= norm.acc_std[0] && norm.acc_std[0] <= hi.max(lo) * 1.01 + 1e-3);
}

#[test]
fn egnn_refuses_the_fused_kernel_and_no_vector_channels_by_name() {
    let config = TrainConfig {
        kernel: TrainKernel::Fused,
        ..egnn()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("kernel") && err.contains("egnn"), "{err}");
    let none = TrainConfig {
        vector_channels: 0,
        ..egnn()
    };
    let err = none.validate().unwrap_err().to_string();
    assert!(err.contains("vector_channels"), "{err}");
    assert!(egnn().validate().is_ok());
}

/// Twenty Adam steps without input noise lower the one-step loss on the training windows
/// (with noise the target asks to undo it, which raises the noise-free loss of these nearly
/// free-falling windows, whose offset — gravity — already fits them), and a checkpoint after step 3 resumes to the straight run's curve bit for bit (burn's Adam state
/// and the equivariant weights both survive).
#[test]
fn egnn_learns_and_resumes_from_a_checkpoint() {
    let (train, metadata) = data();
    let config = TrainConfig {
        lr_initial: 3e-3,
        lr_final: 1e-3,
        noise_std: 0.0,
        ..egnn()
    };
    let mut straight = Trainer::new(config.clone(), &metadata, default_training_device());
    let before = straight.evaluate(&train).unwrap();
    for _ in 0..20 {
        straight.train_step(&train).unwrap();
    }
    let after = straight.evaluate(&train).unwrap();
    assert!(after < 0.7 * before, "one-step loss {before} → {after}");

    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let mut first = Trainer::new(config.clone(), &metadata, default_training_device());
    for _ in 0..3 {
        first.train_step(&train).unwrap();
    }
    first.save_checkpoint(&checkpoint).unwrap();
    let mut resumed = Trainer::new(config, &metadata, default_training_device());
    resumed.load_checkpoint(&checkpoint).unwrap();
    while resumed.state.step < 20 {
        resumed.train_step(&train).unwrap();
    }
    let losses = |t: &Trainer| {
        t.state
            .train_loss
            .iter()
            .map(|p| p.loss)
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&resumed), losses(&straight));

    // A GNS checkpoint is refused by name, not loaded into the wrong network.
    let mut gns = Trainer::new(tiny_config(), &metadata, default_training_device());
    let err = gns.load_checkpoint(&checkpoint).unwrap_err().to_string();
    assert!(err.contains("model.bpk"), "{err}");
}
