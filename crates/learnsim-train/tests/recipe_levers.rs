//! The levers of issue #24's recipe: weight averaging, pushforward and contact-weighted
//! windows, each checked against what it must reduce to and for determinism.

use crate::common::{data, tiny_config};
use learnsim_models::default_training_device;
use learnsim_train::{
    Pushforward, TrainConfig, TrainKernel, Trainer, WeightAverage, WindowCriterion, WindowWeighting,
};

fn curve(config: TrainConfig, steps: usize) -> (Vec<f32>, Trainer) {
    let (train, metadata) = data();
    let mut trainer = Trainer::new(config, &metadata, default_training_device());
    let losses = (0..steps)
        .map(|_| trainer.train_step(&train).unwrap())
        .collect();
    (losses, trainer)
}

/// Pushforward with probability 0, or before its start step, draws no random number and runs
/// no unroll: the loss curve is plain training's, bit for bit. With probability 1 it is a
/// different curve, and the same one again for the same seed (both kernels).
#[test]
fn pushforward_is_plain_training_at_p0_and_deterministic_per_seed() {
    for kernel in [TrainKernel::Fused, TrainKernel::Burn] {
        let base = TrainConfig {
            kernel,
            ..tiny_config()
        };
        let (plain, _) = curve(base.clone(), 4);
        let with = |probability, start_step| TrainConfig {
            pushforward: Some(Pushforward {
                probability,
                steps: 2,
                start_step,
            }),
            ..base.clone()
        };
        assert_eq!(curve(with(0.0, 0), 4).0, plain, "{kernel:?}");
        assert_eq!(curve(with(1.0, 100), 4).0, plain, "{kernel:?}");
        let (pushed, _) = curve(with(1.0, 1), 4);
        assert_eq!(
            pushed[0], plain[0],
            "{kernel:?}: step 0 is before start_step"
        );
        assert_ne!(pushed[1..], plain[1..], "{kernel:?}");
        assert_eq!(curve(with(1.0, 1), 4).0, pushed, "{kernel:?}");
    }
}

/// The average follows `a ← d·a + (1 − d)·w` with d = min(decay, (1 + t)/(10 + t)): checked on
/// the trainer's real weights against the formula applied by hand, and a trainer with
/// averaging trains the same weights as one without (averaging only reads them).
#[test]
fn weight_average_follows_its_update_rule() {
    let decay = 0.9;
    let (plain_losses, plain) = curve(tiny_config(), 3);
    let (averaged_losses, averaged) = curve(
        TrainConfig {
            ema_decay: decay,
            ..tiny_config()
        },
        3,
    );
    assert_eq!(plain_losses, averaged_losses);

    // Replay by hand: the average starts at the initial weights, then folds in each step's.
    let (train, metadata) = data();
    let mut replay = Trainer::new(tiny_config(), &metadata, default_training_device());
    let mut expected = WeightAverage::new(decay, &replay.model);
    let mut by_hand: Vec<Vec<f32>> = weights(&replay);
    for t in 0..3u64 {
        replay.train_step(&train).unwrap();
        let d = (decay).min((1.0 + t as f64) / (10.0 + t as f64)) as f32;
        assert_eq!(expected.next_decay() as f32, d);
        for (a, w) in by_hand.iter_mut().zip(weights(&replay)) {
            for (x, y) in a.iter_mut().zip(w) {
                *x = d * *x + (1.0 - d) * y;
            }
        }
        expected.update(&replay.model);
    }
    let got = WeightAverage::new(0.0, &averaged.inference_model());
    let want = WeightAverage::new(0.0, &expected.model(replay.model.clone()));
    assert_eq!(got, want);
    let ours = weights_of(&averaged.inference_model());
    for (a, b) in ours.iter().flatten().zip(by_hand.iter().flatten()) {
        // f32 arithmetic in the same order: equal up to one rounding per update.
        assert!((a - b).abs() <= 1e-6 * a.abs().max(1e-3), "{a} vs {b}");
    }
    // The average is not the trained weights (they moved), and without averaging inference
    // uses the trained weights themselves.
    assert_ne!(weights_of(&averaged.inference_model()), weights(&averaged));
    assert_eq!(weights_of(&plain.inference_model()), weights(&plain));
}

fn weights(trainer: &Trainer) -> Vec<Vec<f32>> {
    weights_of(&trainer.model)
}

fn weights_of(model: &learnsim_models::ParticleModel) -> Vec<Vec<f32>> {
    learnsim_train::model_parameters(model)
}

/// A checkpoint with averaged weights resumes to the same curve and the same average.
#[test]
fn weight_average_survives_a_checkpoint() {
    let config = TrainConfig {
        ema_decay: 0.95,
        ..tiny_config()
    };
    let (train, metadata) = data();
    let (full, straight) = curve(config.clone(), 4);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let mut first = Trainer::new(config.clone(), &metadata, default_training_device());
    first.train_step(&train).unwrap();
    first.train_step(&train).unwrap();
    first.save_checkpoint(&checkpoint).unwrap();
    let mut resumed = Trainer::new(config, &metadata, default_training_device());
    resumed.load_checkpoint(&checkpoint).unwrap();
    resumed.train_step(&train).unwrap();
    resumed.train_step(&train).unwrap();
    let curve: Vec<f32> = resumed.state.train_loss.iter().map(|p| p.loss).collect();
    assert_eq!(curve, full);
    let (a, b) = (
        weights_of(&straight.inference_model()),
        weights_of(&resumed.inference_model()),
    );
    for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
        assert!((x - y).abs() <= 1e-6 * x.abs().max(1e-3), "{x} vs {y}");
    }
}

/// Two trajectories of 20 frames whose 8 particles fall freely far from the walls for frames
/// 0–9 (an exact parabola: the second difference is g·dt²) and rest on the floor for 10–19.
fn fall_then_rest(metadata: &learnsim_core::Metadata) -> Vec<learnsim_core::Trajectory> {
    let g_dt2 = metadata.gravity[1] * metadata.dt * metadata.dt;
    let floor = metadata.bounds[1][0];
    (0..2)
        .map(|k| {
            let mut position = Vec::new();
            for f in 0..20 {
                for p in 0..8 {
                    let x = 0.4 + 0.02 * p as f64 + 0.01 * k as f64;
                    let y = if f < 10 {
                        0.7 + 0.5 * g_dt2 * (f * f) as f64
                    } else {
                        floor
                    };
                    position.extend([x as f32, y as f32]);
                }
            }
            learnsim_core::Trajectory::new(
                2,
                20,
                position,
                vec![learnsim_core::ParticleKind::Water; 8],
            )
            .unwrap()
        })
        .collect()
}

/// Contact weighting draws contact windows exactly as often as their weights say. Windows end
/// at frames f = 5..=18 (history 5); f = 5–8 are free fall far from the walls (score 0), f = 9
/// lands (the acceleration into frame 10 is far off free fall) and f = 10–18 rest on the floor
/// (score 1): 10 of 14 windows are contact windows. With boost 8 a contact window weighs 9 and
/// draws 90/94 of the time.
#[test]
fn contact_weighting_favours_contact_windows() {
    let (_, metadata) = data();
    let train = fall_then_rest(&metadata);
    let mut uniform = Trainer::new(tiny_config(), &metadata, default_training_device());
    uniform.train_step(&train).unwrap();
    let share = uniform.contact_share(&train);
    assert!((share.uniform - 10.0 / 14.0).abs() < 1e-12, "{share:?}");
    assert_eq!(share.weighted, share.uniform);
    let mut weighted = Trainer::new(
        TrainConfig {
            window_weighting: WindowWeighting::Contact { boost: 8.0 },
            ..tiny_config()
        },
        &metadata,
        default_training_device(),
    );
    let loss = weighted.train_step(&train).unwrap();
    assert!(loss.is_finite());
    let boosted = weighted.contact_share(&train);
    assert!((boosted.uniform - 10.0 / 14.0).abs() < 1e-12, "{boosted:?}");
    assert!(
        (boosted.weighted - 90.0 / 94.0).abs() < 1e-12,
        "{boosted:?}"
    );
}

/// Impact weighting counts landings, not rest: in the same data only the windows ending at
/// f = 9 (the target frame 10 lands) and f = 10 (its previous frame was still falling) have
/// accelerations far off free fall; resting on the floor differs from free fall by exactly
/// |g|·dt², under the 4|g|·dt² threshold. 2 of 14 windows are impacts; with boost 8 each weighs
/// 9 and they get 18/30 of the draws, while the 10 contact windows get (18 + 8)/30.
#[test]
fn impact_weighting_favours_landings_not_rest() {
    let (_, metadata) = data();
    let train = fall_then_rest(&metadata);
    let mut weighted = Trainer::new(
        TrainConfig {
            window_weighting: WindowWeighting::Impact { boost: 8.0 },
            ..tiny_config()
        },
        &metadata,
        default_training_device(),
    );
    assert!(weighted.train_step(&train).unwrap().is_finite());
    let impacts = weighted.window_share(&train, WindowCriterion::Impact);
    assert!((impacts.uniform - 2.0 / 14.0).abs() < 1e-12, "{impacts:?}");
    assert!(
        (impacts.weighted - 18.0 / 30.0).abs() < 1e-12,
        "{impacts:?}"
    );
    let contact = weighted.contact_share(&train);
    assert!((contact.uniform - 10.0 / 14.0).abs() < 1e-12, "{contact:?}");
    assert!(
        (contact.weighted - 26.0 / 30.0).abs() < 1e-12,
        "{contact:?}"
    );
}

/// With `acceleration_offset = "gravity"`, a zero network output decodes to free fall: the
/// next frame is the ballistic step x + (x − x_prev) + g·dt², to f32 rounding of positions ≤ 1
/// (a few ulps, 1e-6).
#[test]
fn gravity_offset_makes_zero_output_free_fall() {
    let (train, metadata) = data();
    let trainer = Trainer::new(
        TrainConfig {
            acceleration_offset: learnsim_train::AccelerationOffset::Gravity,
            ..tiny_config()
        },
        &metadata,
        default_training_device(),
    );
    let t = &train[0];
    let (previous, current) = (t.frame(3), t.frame(4));
    let zeros = vec![0.0f32; current.len()];
    let next = trainer.simulator.decode(&zeros, previous, current);
    let g_dt2: Vec<f64> = metadata
        .gravity
        .iter()
        .map(|g| g * metadata.dt * metadata.dt)
        .collect();
    for (k, &x) in next.iter().enumerate() {
        let want = 2.0 * current[k] as f64 - previous[k] as f64 + g_dt2[k % 2];
        assert!((x as f64 - want).abs() < 1e-6, "{k}: {x} vs {want}");
    }
    // With the data's offset (GNS) a zero output is the data's mean acceleration instead.
    let plain = Trainer::new(tiny_config(), &metadata, default_training_device());
    let drift = plain.simulator.decode(&zeros, previous, current);
    for (k, &x) in drift.iter().enumerate() {
        let want = 2.0 * current[k] as f64 - previous[k] as f64 + metadata.acc_mean[k % 2];
        assert!((x as f64 - want).abs() < 1e-6, "{k}: {x} vs {want}");
    }
}
