//! PDE-Net: the symbolic expansion of a SymNet evaluates to the network, and the fast variant
//! of cases.md [8] — the 2D heat equation (ν = 0.1, linear) — is recovered from data: the four
//! diffusion coefficients near ν and nothing else large.

use burn::tensor::{Distribution, Tensor};
use learnsim_models::{PdeNetConfig, default_inference_device, default_training_device};
use learnsim_sim::burgers::{BurgersRecipe, BurgersTrajectory, burgers_trajectory};
use learnsim_train::pdenet::{
    PdeNetTrainConfig, Polynomial, expand, format_equation, monomial, relative_l2_by_step,
    train_pdenet,
};

fn evaluate(p: &Polynomial, x: &[f32]) -> f64 {
    p.iter()
        .map(|(e, c)| {
            c * e
                .iter()
                .zip(x)
                .map(|(&k, &v)| f64::from(v).powi(i32::from(k)))
                .product::<f64>()
        })
        .sum()
}

/// `count` trajectories of `frames` frames of `config`'s data from t = 0, seeds `first`, ….
fn trajectories(
    config: &PdeNetTrainConfig,
    count: usize,
    frames: usize,
    first: u64,
) -> Vec<BurgersTrajectory> {
    (first..first + count as u64)
        .map(|seed| burgers_trajectory(&config.burgers, 0.0, frames, seed).expect("simulates"))
        .collect()
}

/// A small PDE-Net config on a 16² grid, the base each test changes what it needs in.
fn small(seed: u64) -> PdeNetTrainConfig {
    PdeNetTrainConfig {
        seed,
        burgers: BurgersRecipe {
            n: 16,
            ..BurgersRecipe::standard()
        },
        batch: 4,
        data_start_time: 0.0,
        blocks: vec![0, 1, 2],
        iterations: 6,
        lr: 1e-2,
        lr_final: None,
        hidden_layers: 2,
        accuracy: 2,
        symnet_sparsity: 0.005,
        moment_sparsity: 0.001,
        test_trajectories: 1,
        test_steps: 2,
        substeps: 1,
    }
}

#[test]
fn expanded_symnet_equals_the_network() {
    let device = default_inference_device();
    let net = PdeNetConfig::new(2, 3, 2, false, 0.2, 0.01, true).init(&device);
    let x = Tensor::<2>::random([6, 12], Distribution::Normal(0.0, 1.0), &device);
    let rows = x.clone().into_data().try_to_vec::<f32>().expect("f32");
    for sym in net.symnets() {
        let p = expand(sym);
        let out = sym
            .forward(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        for (row, y) in rows.chunks(12).zip(&out) {
            // f32 network against the f64 polynomial (terms below 1e-9 dropped): ≈ 1e-6.
            let value = evaluate(&p, row);
            assert!(
                (value - f64::from(*y)).abs() < 1e-4 * (1.0 + value.abs()),
                "{value} vs {y}"
            );
        }
    }
    let line = format_equation(
        &Polynomial::from([(monomial(&[0, 1], 12), -1.0), (monomial(&[3], 12), 0.05)]),
        1e-3,
    );
    assert_eq!(line, "−1.0000 u u_x + 0.0500 u_xx");
}

#[test]
fn heat_equation_is_recovered() {
    heat_equation_is_recovered_with(1);
}

/// Two Euler sub-steps of dt/2 per frame: the coefficients are still those of u_t (a network
/// stepping with dt instead of dt/2 would learn ν/2 and fail the 10 % check).
#[test]
fn heat_equation_is_recovered_with_substeps() {
    heat_equation_is_recovered_with(2);
}

fn heat_equation_is_recovered_with(substeps: usize) {
    // Heat data (advection off, ν = 0.1) on a 16² model grid. The SymNet starts at
    // N(0, 0.1²) weights, so every coefficient starts O(0.1); after the curriculum the four
    // diffusion terms must be within 10 % of ν (the case's bar for Burgers' ν̂) and no other
    // coefficient may reach 0.01 (pruned at 1e-3 as in the case).
    let config = PdeNetTrainConfig {
        burgers: BurgersRecipe {
            viscosity: 0.1,
            n: 16,
            advection: false,
            ..BurgersRecipe::standard()
        },
        batch: 8,
        blocks: vec![0, 1, 2, 4],
        iterations: 300,
        test_trajectories: 2,
        test_steps: 20,
        substeps,
        ..small(1)
    };
    let train = trajectories(&config, config.batch, config.training_frames(), 100);
    let trained = train_pdenet(
        &config,
        false,
        &train,
        &default_training_device(),
        None,
        &mut |_, _| {},
    )
    .expect("trains");
    let equations = trained.equations();
    for (field, p) in equations.iter().enumerate() {
        let base = 6 * field;
        let diffusion = [monomial(&[base + 3], 12), monomial(&[base + 5], 12)];
        for m in &diffusion {
            let c = p.get(m).copied().unwrap_or(0.0);
            assert!(
                (c / 0.1 - 1.0).abs() < 0.1,
                "field {field}: {}",
                format_equation(p, 1e-3)
            );
        }
        let other = p
            .iter()
            .filter(|(m, c)| c.abs() >= 1e-3 && !diffusion.contains(m))
            .fold(0.0f64, |a, (_, c)| a.max(c.abs()));
        assert!(other < 0.01, "field {field}: {}", format_equation(p, 1e-3));
    }
    let test = trajectories(&config, 2, 21, 900);
    let device = default_inference_device();
    let rolled: Vec<_> = test
        .iter()
        .map(|t| trained.rollout(&t.frames[0], 20, &device))
        .collect();
    let still: Vec<_> = test.iter().map(|t| vec![t.frames[0].clone(); 21]).collect();
    let err = relative_l2_by_step(&test, 20, &rolled);
    let persistence = relative_l2_by_step(&test, 20, &still);
    assert!(
        err[20] < 0.2 * persistence[20],
        "{} vs persistence {}",
        err[20],
        persistence[20]
    );
}

/// Two trainings on two threads at once (as `learnsim run burgers-2d` trains its variants)
/// give bit-identical loss curves and learned equations to each training alone: weights are
/// drawn under the seed lock and nothing else is shared.
#[test]
fn concurrent_trainings_match_sequential_ones() {
    let config = PdeNetTrainConfig {
        lr_final: Some(1e-3),
        ..small(3)
    };
    let train = trajectories(&config, config.batch, config.training_frames(), 40);
    let run = |frozen: bool| {
        let trained = train_pdenet(
            &config,
            frozen,
            &train,
            &default_training_device(),
            None,
            &mut |_, _| {},
        )
        .expect("trains");
        let losses: Vec<f32> = trained.train_loss.iter().map(|p| p.loss).collect();
        (losses, trained.equations())
    };
    let alone = [run(false), run(true)];
    let together = std::thread::scope(|s| {
        let frozen = s.spawn(|| run(true));
        let learned = run(false);
        [learned, frozen.join().expect("no panic")]
    });
    assert_eq!(alone, together);
    // A rate that is not positive and finite is refused by name, before any training.
    for bad in [0.0, -1e-3, f64::NAN] {
        let config = PdeNetTrainConfig {
            lr_final: Some(bad),
            ..config.clone()
        };
        let err = train_pdenet(
            &config,
            false,
            &train,
            &default_training_device(),
            None,
            &mut |_, _| {},
        )
        .expect_err("a bad rate is refused")
        .to_string();
        assert!(err.contains("lr_final"), "{err}");
    }
    // The rate decays geometrically inside each block: lr at the first iteration, lr_final at
    // the last.
    assert!((config.learning_rate(0) - 1e-2).abs() < 1e-15);
    assert!((config.learning_rate(5) - 1e-3).abs() < 1e-15);
}

/// A loss that stops being finite ends the training with `TrainError::Diverged` at the step it
/// happened (here the first: one observed value is NaN), instead of training on NaN weights.
#[test]
fn a_non_finite_loss_is_reported_as_divergence() {
    let config = PdeNetTrainConfig {
        batch: 2,
        blocks: vec![0, 1],
        iterations: 3,
        hidden_layers: 1,
        ..small(0)
    };
    let mut train = trajectories(&config, 2, config.training_frames(), 0);
    train[1].frames[1].u[5] = f64::NAN;
    let err = train_pdenet(
        &config,
        false,
        &train,
        &default_training_device(),
        None,
        &mut |_, _| {},
    )
    .expect_err("NaN data must not train");
    assert!(
        matches!(err, learnsim_train::TrainError::Diverged { step: 0, .. }),
        "{err}"
    );
}
