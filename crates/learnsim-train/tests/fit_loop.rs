//! The shared fit loop: a fit stopped and resumed from its checkpoint is the uninterrupted fit,
//! bit for bit; a checkpoint of another plan is refused.

use burn::tensor::{Tensor, TensorData};
use learnsim_models::{Mlp, MlpConfig, default_training_device};
use learnsim_sim::nbody::NBodyConfig;
use learnsim_train::object_dynamics::train_interaction_network;
use learnsim_train::{
    Checkpointing, EpochOrder, FirstValidation, FitPlan, FitResult, Keep, TrainError, Validation,
    fit, model_parameters as parameters, seeded_init,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::ops::ControlFlow;
use std::path::Path;

const STEPS: usize = 40;

/// Regression of sin(3x) on [−1, 1] by an MLP on 16 points drawn from `rng` (validation).
fn batch_loss(model: &Mlp, rng: &mut ChaCha8Rng) -> Tensor<1> {
    let device = default_training_device();
    let x: Vec<f32> = (0..16).map(|_| rng.random_range(-1.0..1.0)).collect();
    let y: Vec<f32> = x.iter().map(|v| (3.0 * v).sin()).collect();
    let input = Tensor::from_data(TensorData::new(x, [16, 1]), &device);
    let target = Tensor::from_data(TensorData::new(y, [16, 1]), &device);
    (model.forward(input) - target).powf_scalar(2.0).mean()
}

/// The training set: 50 points of [−1, 1], drawn in epochs of a seeded shuffle.
fn training_points() -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    (0..50).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Regression of sin(3x) on the training points `picked`, jittered by the sampler's RNG.
fn epoch_loss(model: &Mlp, points: &[f32], order: &mut EpochOrder) -> Tensor<1> {
    let device = default_training_device();
    let picked = order.next_batch(16);
    let x: Vec<f32> = picked
        .iter()
        .map(|&i| points[i] + order.rng.random_range(-0.01..0.01))
        .collect();
    let y: Vec<f32> = x.iter().map(|v| (3.0 * v).sin()).collect();
    let input = Tensor::from_data(TensorData::new(x, [16, 1]), &device);
    let target = Tensor::from_data(TensorData::new(y, [16, 1]), &device);
    (model.forward(input) - target).powf_scalar(2.0).mean()
}

/// Fits `model` under `plan`, stopping after `stop_after` steps when given. Batches come from
/// the fit's sampler, an epoch order over 50 points (the stop at step 17 falls inside the
/// second epoch) whose RNG also jitters the points, so a resume must restore the order, the
/// cursor and the RNG's position; the rate jumps from 1e-2 to
/// 1.0 after step 12, so that the later weights validate worse than step 10's and the kept
/// (best) weights are saved before the stop at step 17 (so a resume must restore them too).
fn run(
    plan: &FitPlan,
    model: Mlp,
    stop_after: Option<usize>,
) -> Result<FitResult<Mlp>, TrainError> {
    let points = training_points();
    fit(
        plan,
        model,
        EpochOrder::new(points.len(), ChaCha8Rng::seed_from_u64(0xF17)),
        |step| if step < 12 { 1e-2 } else { 1.0 },
        |model, _, order: &mut EpochOrder| epoch_loss(model, &points, order),
        |model| {
            let mut fixed = ChaCha8Rng::seed_from_u64(u64::MAX);
            f64::from(batch_loss(model, &mut fixed).into_scalar::<f32>())
        },
        &mut |step, _| {
            if stop_after == Some(step) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
}

fn plan(steps: usize, dir: Option<&Path>) -> FitPlan {
    FitPlan {
        steps,
        validation: Validation::Every {
            steps: 10,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::BestValidated,
        checkpoint: dir.map(|dir| Checkpointing {
            dir: dir.to_path_buf(),
            every: 10,
        }),
    }
}

#[test]
fn a_stopped_fit_resumes_to_the_uninterrupted_one_bit_for_bit() {
    let device = default_training_device();
    // One initial model, cloned for every run: a rerun rebuilds the same weights from its seed.
    // Seeded: the curve's shape (best validation at step 10) depends on the initial weights.
    let initial = seeded_init(&device, 0, || {
        MlpConfig::new(1, 32, 2, 1, false).init(&device)
    });
    let straight = run(&plan(STEPS, None), initial.clone(), None).unwrap();
    assert!(straight.complete);
    assert_eq!(straight.train_loss.len(), STEPS);
    assert!(
        straight.valid_loss[1].loss < 0.8 * straight.valid_loss[0].loss,
        "the regression learns: {:?}",
        straight.valid_loss
    );
    assert_eq!(straight.best_step, 10, "{:?}", straight.valid_loss);

    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    // Stopped at step 17, between two scheduled saves (10 and 20): the stop saves step 17.
    let stopped = run(&plan(STEPS, Some(&checkpoint)), initial.clone(), Some(17)).unwrap();
    assert!(!stopped.complete);
    assert_eq!(stopped.train_loss.len(), 17);
    let resumed = run(&plan(STEPS, Some(&checkpoint)), initial.clone(), None).unwrap();
    assert!(resumed.complete);
    let losses = |f: &FitResult<Mlp>| {
        (
            f.train_loss
                .iter()
                .map(|p| (p.step, p.loss.to_bits()))
                .collect::<Vec<_>>(),
            f.valid_loss
                .iter()
                .map(|p| (p.step, p.loss.to_bits()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(losses(&resumed), losses(&straight));
    assert_eq!(resumed.best_step, straight.best_step);
    assert_eq!(parameters(&resumed.model), parameters(&straight.model));

    // A finished fit found again returns itself without training.
    let again = run(&plan(STEPS, Some(&checkpoint)), initial.clone(), None).unwrap();
    assert_eq!(losses(&again), losses(&straight));
    assert_eq!(parameters(&again.model), parameters(&straight.model));

    // Another plan's checkpoint is refused, naming both.
    let err = run(&plan(STEPS + 10, Some(&checkpoint)), initial, None).unwrap_err();
    assert!(
        matches!(&err, TrainError::Checkpoint { problem, .. }
            if problem.contains("40 steps") && problem.contains("plans 50 steps")),
        "{err}"
    );
}

/// The Interaction Network's trainer goes through the loop: with a checkpoint folder, the
/// same fit run twice gives the same model and curves (the second resumes the finished one).
#[test]
fn interaction_network_training_resumes_from_its_checkpoint() {
    let physics = NBodyConfig::default();
    let data: Vec<_> = (0..6)
        .map(|i| physics.simulate(3, 20, i as u64).unwrap())
        .collect();
    let (train, valid) = data.split_at(4);
    let config = crate::common::small_object_config();
    let device = default_training_device();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("in");
    let first = train_interaction_network(
        &config,
        train,
        valid,
        &device,
        Some(&checkpoint),
        &mut |_, _| {},
    )
    .unwrap();
    assert!(checkpoint.join("state.json").exists());
    let mut steps_trained = 0;
    let second = train_interaction_network(
        &config,
        train,
        valid,
        &device,
        Some(&checkpoint),
        &mut |_, _| steps_trained += 1,
    )
    .unwrap();
    assert_eq!(steps_trained, 0, "a finished fit is not trained again");
    let bits = |points: &[learnsim_train::LossPoint]| {
        points.iter().map(|p| p.loss.to_bits()).collect::<Vec<_>>()
    };
    assert_eq!(bits(&first.train_loss), bits(&second.train_loss));
    assert_eq!(bits(&first.valid_loss), bits(&second.valid_loss));
    assert_eq!(
        parameters(&first.model.network),
        parameters(&second.model.network)
    );
}

/// A loss that explodes (a learning rate of 1e4 on the regression: the weights jump by 1e4 a
/// step) stops the fit as diverged once it passes a million times the first step's loss, long
/// before it overflows; the same fit at 1e-2 never trips it. The bound: `EXPLODED` = 1e6.
#[test]
fn an_exploding_loss_stops_the_fit_as_diverged() {
    let device = default_training_device();
    // Seeded: the curve's shape (best validation at step 10) depends on the initial weights.
    let initial = seeded_init(&device, 0, || {
        MlpConfig::new(1, 32, 2, 1, false).init(&device)
    });
    let points = training_points();
    let fit_at = |lr: f64| {
        let mut first = None;
        let result = fit(
            &plan(STEPS, None),
            initial.clone(),
            EpochOrder::new(points.len(), ChaCha8Rng::seed_from_u64(0xF17)),
            |_| lr,
            |model, _, order: &mut EpochOrder| epoch_loss(model, &points, order),
            |_| 0.0,
            &mut |_, loss| {
                first.get_or_insert(loss);
                ControlFlow::Continue(())
            },
        );
        (result, first)
    };
    let (calm, _) = fit_at(1e-2);
    assert!(calm.is_ok(), "a learning rate of 1e-2 diverged");
    let (exploded, first) = fit_at(1e4);
    match exploded {
        Err(TrainError::Diverged { step, loss }) => {
            let first = first.expect("the first step ran");
            assert!(
                loss.is_finite(),
                "stopped only at overflow ({loss} at step {step})"
            );
            assert!(
                loss > learnsim_train::EXPLODED * first,
                "{loss} vs first {first}"
            );
            assert!(step > 0 && step < STEPS, "step {step}");
        }
        other => panic!(
            "the exploding fit was not stopped: {:?}",
            other.map(|f| f.train_loss)
        ),
    }
}
