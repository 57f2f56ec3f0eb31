//! A loss that stops being finite ends training with `TrainError::Diverged` at the step it
//! happened, instead of training on NaN weights (issue #35; PDE-Net's trainer has its own test
//! in `pdenet.rs`). Each trainer gets data with one NaN value, which reaches the loss at the
//! first step.

mod common;

use common::{data, tiny_config};
use learnsim_models::default_training_device;
use learnsim_train::plasma::{FieldPairs, PlasmaConfig, cnn, train_field};
use learnsim_train::{TrainConfig, TrainError, TrainKernel, Trainer};

#[test]
fn the_gns_trainer_reports_a_nan_loss_as_divergence_with_both_kernels() {
    for kernel in [TrainKernel::Fused, TrainKernel::Burn] {
        let (mut train, metadata) = data();
        // Particle 0's x is NaN in every frame after the first, so whichever window is drawn
        // reads one.
        for t in &mut train {
            for f in 1..t.n_frames {
                let k = f * t.n_particles * t.dim;
                t.position[k] = f32::NAN;
            }
        }
        let config = TrainConfig {
            kernel,
            ..tiny_config()
        };
        let mut trainer = Trainer::new(config, &metadata, default_training_device());
        match trainer.train_step(&train) {
            Err(TrainError::Diverged { step: 0, loss }) => assert!(!loss.is_finite()),
            other => panic!("{kernel:?}: expected divergence at step 0, got {other:?}"),
        }
        assert_eq!(trainer.state.step, 0, "no step is counted");
    }
}

#[test]
fn the_plasma_field_trainer_reports_a_nan_loss_as_divergence() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/plasma-1d.toml");
    let mut config: PlasmaConfig = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    config.steps = 3;
    let cells = config.plasma.cells;
    let pairs = |poison: bool| {
        let mut p = FieldPairs::default();
        for k in 0..6 {
            let rho: Vec<f64> = (0..cells)
                .map(|i| (i as f64 * 0.3 + k as f64).sin())
                .collect();
            let e: Vec<f64> = (0..cells)
                .map(|i| (i as f64 * 0.3 + k as f64).cos())
                .collect();
            p.rho.push(rho);
            p.e.push(e);
            p.length.push(1.0);
        }
        if poison {
            p.rho[2][3] = f64::NAN;
        }
        p
    };
    let device = default_training_device();
    let result = train_field(
        &config,
        |d| cnn(&config, d),
        &pairs(true),
        &pairs(false),
        &device,
        &mut |_, _| {},
    );
    match result {
        Err(TrainError::Diverged { step: 0, .. }) => {}
        Err(other) => panic!("expected divergence at step 0, got {other}"),
        Ok(_) => panic!("NaN data trained"),
    }
    // The same pairs without the NaN train.
    assert!(
        train_field(
            &config,
            |d| cnn(&config, d),
            &pairs(false),
            &pairs(false),
            &device,
            &mut |_, _| {}
        )
        .is_ok()
    );
}
