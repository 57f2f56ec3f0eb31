//! Data-parallel training (issue #26) with ranks as threads ([`LocalGroup`]): the same
//! arithmetic MPI ranks run, without an MPI installation.

use crate::common::{data, tiny_config};
use learnsim_models::{Architecture, default_training_device};
use learnsim_train::distributed::{self, LocalGroup};
use learnsim_train::{
    Augmentation, Pushforward, TrainConfig, TrainKernel, Trainer, model_parameters,
};
use std::rc::Rc;

const STEPS: usize = 20;

/// Every lever that draws random numbers on: noise, mirrored windows, pushforward coins.
fn config(batch_size: usize) -> TrainConfig {
    TrainConfig {
        kernel: TrainKernel::Fused,
        batch_size,
        steps: STEPS,
        augmentation: Augmentation::ReflectX,
        pushforward: Some(Pushforward {
            probability: 0.5,
            steps: 1,
            start_step: 5,
        }),
        ..tiny_config()
    }
}

/// `work` on each of `ranks` threads, each the rank of one group; their results in rank order.
fn on_ranks<T: Send + 'static>(ranks: usize, work: fn() -> T) -> Vec<T> {
    let handles: Vec<_> = LocalGroup::new(ranks)
        .into_iter()
        .map(|group| {
            std::thread::spawn(move || {
                distributed::install(Rc::new(group));
                work()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// The loss curve and final weights of `ranks` threads training one model on batch 2.
fn train_on(ranks: usize) -> Vec<(Vec<f32>, Vec<Vec<f32>>)> {
    on_ranks(ranks, || {
        let (train, metadata) = data();
        let mut trainer = Trainer::new(config(2), &metadata, default_training_device());
        let curve: Vec<f32> = (0..STEPS)
            .map(|_| trainer.train_step(&train).unwrap())
            .collect();
        (curve, model_parameters(&trainer.model))
    })
}

#[test]
fn two_ranks_of_batch_one_train_as_one_process_of_batch_two() {
    let one = train_on(1).remove(0);
    let two = train_on(2);
    // Every rank applies the same summed gradient to the same weights: identical bits.
    assert_eq!(two[0].0, two[1].0, "the ranks' losses differ");
    assert!(two[0].1 == two[1].1, "the ranks' weights differ");
    // Against one process: the same windows, noise, mirrors and pushforward coins, and the
    // same loss, whose gradient is summed in another order (two partial sums, then their sum).
    // f32 round-off is ~1e-7 relative per sum, and Adam divides each gradient by its own
    // magnitude, so a tiny gradient's round-off can move its weight by up to lr; over 20 steps
    // the curves differed by at most 3e-7 relative (measured), 1e-5 leaves 30× for other CPUs.
    for (step, (a, b)) in one.0.iter().zip(&two[0].0).enumerate() {
        let relative = (a - b).abs() / a.abs().max(1e-12);
        assert!(
            relative < 1e-5,
            "step {step}: one process {a}, two ranks {b}"
        );
    }
}

#[test]
fn a_batch_the_ranks_cannot_share_equally_is_refused() {
    let messages = on_ranks(2, || {
        let (train, metadata) = data();
        let mut trainer = Trainer::new(config(3), &metadata, default_training_device());
        trainer.train_step(&train).unwrap_err().to_string()
    });
    for message in messages {
        assert!(
            message.contains("batch_size 3 is not a multiple of the 2 ranks"),
            "{message}"
        );
    }
}

/// burn's kernel (the equivariant network, and GNS with `kernel = "burn"`) trains
/// data-parallel too: its autodiff gradients are summed over the ranks as the fused kernel's
/// are, so two ranks of batch 1 follow one process of batch 2 and hold identical weights.
#[test]
fn burns_kernel_trains_on_two_ranks_as_one_process() {
    type Trained = (Vec<f32>, Vec<Vec<f32>>);
    fn run(ranks: usize, model: Architecture) -> Vec<Trained> {
        let work: fn() -> Trained = match model {
            Architecture::Gns => || burn_curve(Architecture::Gns),
            Architecture::Egnn => || burn_curve(Architecture::Egnn),
        };
        on_ranks(ranks, work)
    }
    fn burn_curve(model: Architecture) -> Trained {
        let (train, metadata) = data();
        let config = TrainConfig {
            kernel: TrainKernel::Burn,
            model,
            vector_channels: 8,
            steps: 8,
            ..config(2)
        };
        let mut trainer = Trainer::new(config, &metadata, default_training_device());
        let curve: Vec<f32> = (0..8)
            .map(|_| trainer.train_step(&train).unwrap())
            .collect();
        (curve, model_parameters(&trainer.model))
    }
    for model in [Architecture::Gns, Architecture::Egnn] {
        let one = run(1, model).remove(0);
        let two = run(2, model);
        assert_eq!(two[0].0, two[1].0, "{model:?}: the ranks' losses differ");
        assert!(two[0].1 == two[1].1, "{model:?}: the ranks' weights differ");
        // As the fused kernel's test above: the same loss summed in another order.
        for (step, (a, b)) in one.0.iter().zip(&two[0].0).enumerate() {
            let relative = (a - b).abs() / a.abs().max(1e-12);
            assert!(
                relative < 1e-5,
                "{model:?}, step {step}: one process {a}, two ranks {b}"
            );
        }
    }
}
