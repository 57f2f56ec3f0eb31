//! Issue #38: a GNS reads the dataset's material property and step context when present, the
//! config's `[features]` turns each off, and data that lack a feature the model reads are
//! refused with the way out named.

use crate::common::{data, tiny_config};
use learnsim_core::Trajectory;
use learnsim_models::default_training_device;
use learnsim_train::{FeatureUse, TrainConfig, TrainError, TrainKernel, Trainer};

/// The water-drop test data with a material value per trajectory and a two-column context per
/// frame, and metadata listing them.
fn data_with_features() -> (Vec<Trajectory>, learnsim_core::Metadata) {
    let (train, mut metadata) = data();
    let train: Vec<Trajectory> = train
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let (n, frames) = (t.n_particles, t.n_frames);
            t.with_material(1, vec![0.4 + 0.3 * i as f32; n])
                .unwrap()
                .with_step_context(2, (0..2 * frames).map(|k| k as f32 * 0.1).collect())
                .unwrap()
        })
        .collect();
    metadata.features = learnsim_data::features_of(std::slice::from_ref(&train));
    (train, metadata)
}

#[test]
fn the_model_reads_the_features_the_data_have_unless_turned_off() {
    let (train, metadata) = data_with_features();
    for kernel in [TrainKernel::Fused, TrainKernel::Burn] {
        let on = TrainConfig {
            kernel,
            ..tiny_config()
        };
        let mut trainer = Trainer::new(on.clone(), &metadata, default_training_device());
        let c = &trainer.simulator.config;
        assert_eq!((c.material_features, c.context_features), (1, 2));
        assert_eq!(
            trainer.simulator.normalization.context_mean,
            metadata.features.context_mean
        );
        let with = trainer.train_step(&train).unwrap();
        assert!(with.is_finite());

        let off = TrainConfig {
            features: FeatureUse {
                material_property: false,
                step_context: false,
            },
            ..on
        };
        let mut plain = Trainer::new(off, &metadata, default_training_device());
        let c = &plain.simulator.config;
        assert_eq!((c.material_features, c.context_features), (0, 0));
        // The same first batch without the three extra node inputs: a different network, a
        // different loss.
        let without = plain.train_step(&train).unwrap();
        assert!(without.is_finite() && without != with, "{kernel:?}");
    }
}

/// The features change the prediction: the same window with another material value gives
/// another one-step loss.
#[test]
fn the_material_value_reaches_the_network() {
    let (train, metadata) = data_with_features();
    let trainer = Trainer::new(tiny_config(), &metadata, default_training_device());
    let base = trainer.evaluate(&train).unwrap();
    let changed: Vec<Trajectory> = train
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.material.values.iter_mut().for_each(|v| *v += 5.0);
            t
        })
        .collect();
    let other = trainer.evaluate(&changed).unwrap();
    assert_ne!(base, other);
}

#[test]
fn data_without_a_feature_the_model_reads_are_refused() {
    let (train, metadata) = data_with_features();
    let mut trainer = Trainer::new(tiny_config(), &metadata, default_training_device());
    let bare: Vec<Trajectory> = train
        .into_iter()
        .map(|mut t| {
            t.material = learnsim_core::FeatureTable::NONE;
            t
        })
        .collect();
    match trainer.train_step(&bare) {
        Err(TrainError::Data(message)) => assert!(
            message.contains("material_property") && message.contains("features."),
            "{message}"
        ),
        other => panic!("expected a data error, got {other:?}"),
    }
}

/// A checkpoint of a model that reads the material feature cannot be loaded into a model built
/// for data without it (a user evaluating a run on other data), nor the other way round: the
/// load is refused naming the widths, before any weights of the wrong shape are read.
#[test]
fn a_checkpoint_is_refused_by_a_model_of_another_input_layout() {
    let (train, with) = data_with_features();
    let (_, without) = data();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let mut trainer = Trainer::new(tiny_config(), &with, default_training_device());
    trainer.train_step(&train).unwrap();
    trainer.save_checkpoint(&checkpoint).unwrap();
    let mut same = Trainer::new(tiny_config(), &with, default_training_device());
    same.load_checkpoint(&checkpoint).unwrap();
    assert_eq!(same.state.step, 1);
    let mut other = Trainer::new(tiny_config(), &without, default_training_device());
    let err = other.load_checkpoint(&checkpoint).unwrap_err().to_string();
    assert!(
        err.contains("material_property") && err.contains("[1, 2]") && err.contains("[0, 0]"),
        "{err}"
    );
    // And a model without features does not load into one that reads them.
    let (plain_train, _) = data();
    let mut plain = Trainer::new(tiny_config(), &without, default_training_device());
    plain.train_step(&plain_train).unwrap();
    plain.save_checkpoint(&checkpoint).unwrap();
    let mut reads = Trainer::new(tiny_config(), &with, default_training_device());
    assert!(reads.load_checkpoint(&checkpoint).is_err());
}
