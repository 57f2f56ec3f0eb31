//! The shared fit loop trains data-parallel (issue #26): in a group of ranks (here threads,
//! [`LocalGroup`], the arithmetic MPI ranks run) every rank starts from rank 0's weights, the
//! ranks average each step's gradient over their parts of the global batch, hold identical
//! weights after every step, and only rank 0 writes the checkpoint they all resume from.

use crate::common::shipped;
use burn::tensor::{Tensor, TensorData};
use learnsim_models::{Mlp, MlpConfig, default_training_device};
use learnsim_sim::nbody::NBodyConfig;
use learnsim_sim::stillinger_weber::Configuration;
use learnsim_train::distributed::{self, LocalGroup};
use learnsim_train::object_dynamics::{ObjectTrainConfig, train_interaction_network};
use learnsim_train::schnet::{SchNetTrainConfig, train_schnet};
use learnsim_train::{
    Checkpointing, EpochOrder, FirstValidation, FitPlan, FitResult, Keep, TrainError, Validation,
    fit, model_parameters as parameters, seeded_init,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::ops::ControlFlow;
use std::path::Path;
use std::rc::Rc;

const STEPS: usize = 30;
/// The global batch: 16 points, 8 on each of two ranks.
const BATCH: usize = 16;

/// `work(rank)` on each of `ranks` threads, each the rank of one group; results in rank order.
fn on_ranks<T: Send>(ranks: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = LocalGroup::new(ranks)
            .into_iter()
            .enumerate()
            .map(|(rank, group)| {
                let work = &work;
                scope.spawn(move || {
                    distributed::install(Rc::new(group));
                    work(rank)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Regression of sin(3x) on this rank's block of a global batch of 16 training points, each
/// jittered by the sampler's RNG. Every rank draws the whole batch and all 16 jitters (so the
/// ranks' samplers stay in step) and keeps its block: the mean over its 8 points.
fn block_loss(model: &Mlp, points: &[f32], order: &mut EpochOrder) -> Tensor<1> {
    let device = default_training_device();
    let world = distributed::world();
    let part = distributed::share(BATCH, world.rank(), world.size()).unwrap();
    let x: Vec<f32> = order
        .next_batch(BATCH)
        .iter()
        .map(|&i| points[i] + order.rng.random_range(-0.01..0.01))
        .collect();
    let x = x[part].to_vec();
    let n = x.len();
    let y: Vec<f32> = x.iter().map(|v| (3.0 * v).sin()).collect();
    let input = Tensor::from_data(TensorData::new(x, [n, 1]), &device);
    let target = Tensor::from_data(TensorData::new(y, [n, 1]), &device);
    (model.forward(input) - target).powf_scalar(2.0).mean()
}

fn plan(dir: Option<&Path>) -> FitPlan {
    FitPlan {
        steps: STEPS,
        validation: Validation::Every {
            steps: 10,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::Last,
        checkpoint: dir.map(|dir| Checkpointing {
            dir: dir.to_path_buf(),
            every: 10,
        }),
    }
}

/// One rank's fit of `model` on 50 points (epochs of a seeded shuffle), stopped after
/// `stop_after` steps when given; validation on 16 fixed points.
fn run(
    plan: &FitPlan,
    model: Mlp,
    stop_after: Option<usize>,
) -> Result<FitResult<Mlp>, TrainError> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let points: Vec<f32> = (0..50).map(|_| rng.random_range(-1.0..1.0)).collect();
    fit(
        plan,
        model,
        EpochOrder::new(points.len(), ChaCha8Rng::seed_from_u64(0xF17)),
        |_| 1e-2,
        |model, _, order: &mut EpochOrder| block_loss(model, &points, order),
        |model| {
            let device = default_training_device();
            let x: Vec<f32> = (0..16).map(|i| -1.0 + i as f32 / 8.0).collect();
            let y: Vec<f32> = x.iter().map(|v| (3.0 * v).sin()).collect();
            let input = Tensor::from_data(TensorData::new(x, [16, 1]), &device);
            let target = Tensor::from_data(TensorData::new(y, [16, 1]), &device);
            f64::from(
                (model.forward(input) - target)
                    .powf_scalar(2.0)
                    .mean()
                    .into_scalar::<f32>(),
            )
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

fn curve(fitted: &FitResult<Mlp>) -> Vec<f32> {
    fitted.train_loss.iter().map(|p| p.loss).collect()
}

/// Relative gaps of two loss curves, step by step.
fn assert_close(one: &[f32], two: &[f32], what: &str) {
    assert_eq!(one.len(), two.len(), "{what}");
    for (step, (a, b)) in one.iter().zip(two).enumerate() {
        // The same loss, its mean taken in two halves: f32 round-off ~1e-7 relative per sum,
        // which Adam (each weight's step divided by its own gradient's magnitude) can carry
        // into the weights; the GNS trainers' equivalence measured 3e-7 over 20 steps, and the
        // bound leaves 30× for other CPUs.
        let relative = (a - b).abs() / a.abs().max(1e-12);
        assert!(
            relative < 1e-5,
            "{what}, step {step}: one process {a}, two ranks {b}"
        );
    }
}

#[test]
fn the_fit_loop_trains_on_two_ranks_as_one_process_of_the_whole_batch() {
    let device = default_training_device();
    let mlp = || MlpConfig::new(1, 32, 2, 1, false).init(&device);
    let initial = seeded_init(&device, 0, mlp);
    // Rank 1 starts from other weights: the fit must replace them by rank 0's.
    let other = seeded_init(&device, 1, mlp);
    assert_ne!(parameters(&initial), parameters(&other));
    let one = run(&plan(None), initial.clone(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let two = on_ranks(2, |rank| {
        let model = if rank == 0 {
            initial.clone()
        } else {
            other.clone()
        };
        let checkpoint = dir.path().join(format!("rank-{rank}"));
        run(&plan(Some(&checkpoint)), model, None).unwrap()
    });
    assert_eq!(curve(&two[0]), curve(&two[1]), "the ranks' losses differ");
    assert_eq!(
        parameters(&two[0].model),
        parameters(&two[1].model),
        "the ranks' weights differ"
    );
    assert_close(&curve(&one), &curve(&two[0]), "fit loop");
    assert!(
        curve(&one)[STEPS - 1] < 0.5 * curve(&one)[0],
        "the regression learns: {:?}",
        curve(&one)
    );
    // Only rank 0 writes: rank 1, given a folder of its own, leaves it unmade.
    assert!(dir.path().join("rank-0/state.json").exists());
    assert!(!dir.path().join("rank-1").exists());
}

#[test]
fn a_data_parallel_fit_stopped_and_resumed_is_the_uninterrupted_one_bit_for_bit() {
    let device = default_training_device();
    let initial = seeded_init(&device, 0, || {
        MlpConfig::new(1, 32, 2, 1, false).init(&device)
    });
    let straight = on_ranks(2, |_| run(&plan(None), initial.clone(), None).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    // Both ranks stop at step 17 (between the saves at 10 and 20); rank 0 saves step 17, and
    // both ranks resume from that one checkpoint.
    let stopped = on_ranks(2, |_| {
        run(&plan(Some(&checkpoint)), initial.clone(), Some(17)).unwrap()
    });
    assert!(
        stopped
            .iter()
            .all(|s| !s.complete && s.train_loss.len() == 17)
    );
    let resumed = on_ranks(2, |_| {
        run(&plan(Some(&checkpoint)), initial.clone(), None).unwrap()
    });
    let bits = |f: &FitResult<Mlp>| -> Vec<u32> { curve(f).iter().map(|l| l.to_bits()).collect() };
    for rank in 0..2 {
        assert!(resumed[rank].complete);
        assert_eq!(bits(&resumed[rank]), bits(&straight[0]), "rank {rank}");
        assert_eq!(
            parameters(&resumed[rank].model),
            parameters(&straight[0].model),
            "rank {rank}"
        );
    }
}

/// Eight silicon atoms on a 2.4 Å cube, jiggled per configuration, and in every other one a
/// ninth at its centre: blocks of a batch then hold different atom counts, so the force term (a
/// mean over atoms) must be weighted by each block's share of the batch's atoms.
fn configuration(k: usize) -> Configuration {
    let atoms = 8 + k % 2;
    let corner = |i: usize, a: usize| {
        if i == 8 {
            1.2
        } else {
            2.4 * ((i >> a) & 1) as f64
        }
    };
    Configuration {
        positions: (0..atoms)
            .map(|i| [0, 1, 2].map(|a| corner(i, a) + 0.05 * ((3 * i + 5 * a + k) as f64).sin()))
            .collect(),
        energy: -30.0 - 3.5 * (k % 2) as f64 + 0.1 * (k as f64).sin(),
        forces: (0..atoms)
            .map(|i| [0, 1, 2].map(|a| 0.1 * ((7 * i + 3 * a + k) as f64).cos()))
            .collect(),
    }
}

#[test]
fn schnet_trains_on_two_ranks_as_one_process_of_the_whole_batch() {
    let mut config: SchNetTrainConfig = shipped("schnet-si");
    config.features = 8;
    config.interactions = 1;
    config.steps = 10;
    config.batch_size = 4;
    config.validate_every = 5;
    assert!(
        config.force_weight > 0.0,
        "the shipped recipe trains on forces"
    );
    let train: Vec<Configuration> = (0..12).map(configuration).collect();
    let valid: Vec<Configuration> = (12..16).map(configuration).collect();
    let device = default_training_device();
    let trained = |config: &SchNetTrainConfig| {
        let t = train_schnet(config, &train, &valid, &device, None, &mut |_, _| {}).unwrap();
        let curve: Vec<f32> = t.train_loss.iter().map(|p| p.loss).collect();
        (curve, parameters(&t.model))
    };
    let one = trained(&config);
    let two = on_ranks(2, |_| trained(&config));
    assert_eq!(two[0], two[1], "the ranks' curves or weights differ");
    assert_close(&one.0, &two[0].0, "schnet");

    // A batch two ranks cannot share equally is refused before training, on every rank.
    config.batch_size = 3;
    let refused = on_ranks(2, |_| {
        train_schnet(&config, &train, &valid, &device, None, &mut |_, _| {})
            .err()
            .map(|e| e.to_string())
    });
    for message in refused {
        let message = message.expect("an uneven batch is refused");
        assert!(
            message.contains("batch_size 3 is not a multiple of the 2 ranks"),
            "{message}"
        );
    }
}

/// The Interaction Network (nbody-2d, spring-chain) trains data-parallel: trajectories of 3 and
/// 4 bodies, so that the ranks' blocks of a batch hold different object counts and each block's
/// mean must be weighted by its share of the batch's objects.
#[test]
fn the_interaction_network_trains_on_two_ranks_as_one_process_of_the_whole_batch() {
    let physics = NBodyConfig::default();
    let data: Vec<_> = (0..8)
        .map(|i| physics.simulate(3 + i % 2, 20, i as u64).unwrap())
        .collect();
    let (train, valid) = data.split_at(6);
    let config = ObjectTrainConfig {
        n_bodies: [3, 4],
        trajectories: [6, 2, 2, 2],
        validate_every: 6,
        ..crate::common::small_object_config()
    };
    let device = default_training_device();
    let trained = || {
        let fitted =
            train_interaction_network(&config, train, valid, &device, None, &mut |_, _| {})
                .unwrap();
        let curve: Vec<f32> = fitted.train_loss.iter().map(|p| p.loss).collect();
        (curve, parameters(&fitted.model.network))
    };
    let one = trained();
    let two = on_ranks(2, |_| trained());
    assert_eq!(two[0], two[1], "the ranks' curves or weights differ");
    assert_close(&one.0, &two[0].0, "interaction network");
}
