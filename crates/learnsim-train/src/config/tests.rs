//! The training config's parsing, schedule and field checks.

use super::*;

/// Both schedules start at `lr_initial` and reach `lr_final` at the last step (issue #24:
/// GNS's formula with `lr_decay_steps = steps` ended at 1.09e-4 instead of 1e-5); in
/// between they fall monotonically.
#[test]
fn schedules_reach_lr_final_at_the_last_step() {
    for schedule in [LrSchedule::Exponential, LrSchedule::Cosine] {
        let steps = 6000;
        let rate = |s| schedule.rate(1e-3, 1e-5, s, steps);
        assert!((rate(0) - 1e-3).abs() < 1e-15, "{schedule:?}");
        assert!((rate(steps - 1) - 1e-5).abs() < 1e-15, "{schedule:?}");
        assert!((rate(steps + 100) - 1e-5).abs() < 1e-15, "{schedule:?}");
        for s in 1..steps {
            assert!(rate(s) < rate(s - 1), "{schedule:?} at {s}");
        }
    }
    // The geometric midpoint of 1e-3 and 1e-5.
    let mid = LrSchedule::Exponential.rate(1e-3, 1e-5, 50, 101);
    assert!((mid - 1e-4).abs() < 1e-15);
    // One step: the initial rate.
    assert_eq!(LrSchedule::Cosine.rate(1e-3, 1e-5, 0, 1), 1e-3);
}

/// A config saved with GNS's `lr_decay_steps` keeps its formula.
#[test]
fn legacy_decay_steps_keep_gns_formula() {
    let text = "seed = 0\nsteps = 6000\nbatch_size = 2\nlr_initial = 1e-3\nlr_final = 1e-5\nlr_decay_steps = 6000.0\nnoise_std = 3e-4\nhistory = 5\nembedding_dim = 16\nlatent = 64\nn_hidden = 2\nmessage_passing_steps = 5\nvalidate_every = 500\nvalidation_windows = 8\ncheckpoint_every = 500\n";
    let config: TrainConfig = toml::from_str(text).unwrap();
    let end = config.learning_rate(6000);
    assert!((end - (0.99e-3 * 0.1 + 1e-5)).abs() < 1e-12, "{end}");
    assert_eq!(config.wall_horizon, 1.0);
    assert_eq!(config.window_weighting, WindowWeighting::Uniform);
    assert_eq!(config.pushforward, None);
    assert_eq!(config.ema_decay, 0.0);
    assert_eq!(config.rigid_loss_weight, 1.0);
    assert_eq!(config.rigid_target, RigidTarget::KeepNoise);
    // Saved as it was read: the new fields at their defaults are not written.
    assert!(!toml::to_string(&config).unwrap().contains("rigid"));
    let round: TrainConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
    assert_eq!(round, config);
}

/// Each field's check names the field: one invalid value per field, each on an otherwise
/// valid config.
#[test]
fn every_field_is_checked_and_named() {
    let text = "seed = 0\nsteps = 100\nbatch_size = 2\nlr_initial = 1e-3\nlr_final = 1e-5\nnoise_std = 3e-4\nhistory = 5\nembedding_dim = 16\nlatent = 64\nn_hidden = 2\nmessage_passing_steps = 5\nvalidate_every = 10\nvalidation_windows = 8\ncheckpoint_every = 10\n";
    let good: TrainConfig = toml::from_str(text).unwrap();
    assert_eq!(good.validate(), Ok(()));
    let cases: Vec<(&str, TrainConfig)> = vec![
        (
            "steps",
            TrainConfig {
                steps: 0,
                ..good.clone()
            },
        ),
        (
            "batch_size",
            TrainConfig {
                batch_size: 0,
                ..good.clone()
            },
        ),
        (
            "lr_initial",
            TrainConfig {
                lr_initial: -1e-3,
                ..good.clone()
            },
        ),
        (
            "lr_initial",
            TrainConfig {
                lr_initial: f64::NAN,
                ..good.clone()
            },
        ),
        (
            "lr_final",
            TrainConfig {
                lr_final: 0.0,
                ..good.clone()
            },
        ),
        (
            "lr_final",
            TrainConfig {
                lr_final: 2e-3,
                ..good.clone()
            },
        ),
        (
            "lr_decay_steps",
            TrainConfig {
                lr_decay_steps: Some(0.0),
                ..good.clone()
            },
        ),
        (
            "ema_decay",
            TrainConfig {
                ema_decay: 1.0,
                ..good.clone()
            },
        ),
        (
            "noise_std",
            TrainConfig {
                noise_std: f64::INFINITY,
                ..good.clone()
            },
        ),
        (
            "history",
            TrainConfig {
                history: 0,
                ..good.clone()
            },
        ),
        (
            "rigid_loss_weight",
            TrainConfig {
                rigid_loss_weight: 0.0,
                ..good.clone()
            },
        ),
        (
            "rigid_loss_weight",
            TrainConfig {
                rigid_loss_weight: f64::NAN,
                ..good.clone()
            },
        ),
        (
            "connectivity_radius",
            TrainConfig {
                connectivity_radius: Some(-1.0),
                ..good.clone()
            },
        ),
        (
            "wall_horizon",
            TrainConfig {
                wall_horizon: 0.0,
                ..good.clone()
            },
        ),
        (
            "embedding_dim",
            TrainConfig {
                embedding_dim: 0,
                ..good.clone()
            },
        ),
        (
            "latent",
            TrainConfig {
                latent: 0,
                ..good.clone()
            },
        ),
        (
            "latent",
            TrainConfig {
                latent: 100_000,
                ..good.clone()
            },
        ),
        (
            "n_hidden",
            TrainConfig {
                n_hidden: 0,
                ..good.clone()
            },
        ),
        (
            "message_passing_steps",
            TrainConfig {
                message_passing_steps: 0,
                ..good.clone()
            },
        ),
        (
            "validate_every",
            TrainConfig {
                validate_every: 0,
                ..good.clone()
            },
        ),
        (
            "validation_windows",
            TrainConfig {
                validation_windows: 0,
                ..good.clone()
            },
        ),
        (
            "checkpoint_every",
            TrainConfig {
                checkpoint_every: 0,
                ..good.clone()
            },
        ),
        (
            "pushforward.probability",
            TrainConfig {
                pushforward: Some(Pushforward {
                    probability: 1.5,
                    steps: 1,
                    start_step: 0,
                }),
                ..good.clone()
            },
        ),
        (
            "pushforward.steps",
            TrainConfig {
                pushforward: Some(Pushforward {
                    probability: 0.5,
                    steps: 0,
                    start_step: 0,
                }),
                ..good.clone()
            },
        ),
        (
            "window_weighting.boost",
            TrainConfig {
                window_weighting: WindowWeighting::Contact { boost: -1.0 },
                ..good.clone()
            },
        ),
    ];
    for (field, config) in cases {
        let e = config.validate().unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(!e.allowed.is_empty());
    }
}
