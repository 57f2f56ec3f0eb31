//! A run killed and resumed continues with the same loss curve as an uninterrupted run.

use crate::common::{data, tiny_config};
use learnsim_models::default_training_device;
use learnsim_train::{TrainConfig, TrainKernel, Trainer};

#[test]
fn resumed_run_matches_uninterrupted_run() {
    for kernel in [TrainKernel::Burn, TrainKernel::Fused] {
        resumed_run_matches_uninterrupted_run_with(kernel);
    }
}

fn resumed_run_matches_uninterrupted_run_with(kernel: TrainKernel) {
    let tiny_config = || TrainConfig {
        kernel,
        ..tiny_config()
    };
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
    // Same batches, same weights, same Adam moments and the same operations in the same order
    // on the same machine: the resumed curve is the uninterrupted one bit for bit (measured on
    // both kernels), so no tolerance is needed. A resume that restarts Adam's moments (and its
    // bias-correction step count) moves the next step's loss by 2e-3 relative (measured).
    for (k, (a, b)) in full.iter().zip(curve.iter()).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{kernel:?}, step {k}: {a} vs {b} (tail {tail:?})"
        );
    }
}

#[test]
fn fused_and_burn_kernels_train_alike() {
    // Same initial weights, same batches. Step 0's loss is the same function of the same
    // weights (f32 summation order only: 1e-5 relative). Later losses drift apart a little:
    // Adam divides each gradient by its own running magnitude, so components whose gradient is
    // at rounding level take steps of either sign. Measured: the two curves agree to 1e-7
    // relative over 5 steps at lr 1e-3; the bound 1e-3 leaves room for other CPUs' gemm
    // blocking and is far below what a wrong gradient does (the curves part by O(10 %)).
    let (train, metadata) = data();
    let curve = |kernel| {
        let mut t = Trainer::new(
            TrainConfig {
                kernel,
                ..tiny_config()
            },
            &metadata,
            default_training_device(),
        );
        (0..5)
            .map(|_| t.train_step(&train).unwrap())
            .collect::<Vec<f32>>()
    };
    let (burn, fused) = (curve(TrainKernel::Burn), curve(TrainKernel::Fused));
    assert!(
        (burn[0] - fused[0]).abs() <= 1e-5 * burn[0],
        "{burn:?} vs {fused:?}"
    );
    for (a, b) in burn.iter().zip(&fused) {
        assert!((a - b).abs() <= 1e-3 * a, "{burn:?} vs {fused:?}");
    }
}

#[test]
fn a_checkpoint_of_one_kernel_does_not_resume_with_the_other() {
    let (train, metadata) = data();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let config = |kernel| TrainConfig {
        kernel,
        ..tiny_config()
    };
    let mut burn = Trainer::new(
        config(TrainKernel::Burn),
        &metadata,
        default_training_device(),
    );
    burn.train_step(&train).unwrap();
    burn.save_checkpoint(&checkpoint).unwrap();
    let mut fused = Trainer::new(
        config(TrainKernel::Fused),
        &metadata,
        default_training_device(),
    );
    let e = fused.load_checkpoint(&checkpoint).unwrap_err().to_string();
    assert!(e.contains("fused_adam.bin") && e.contains("kernel"), "{e}");
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
