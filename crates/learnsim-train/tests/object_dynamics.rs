//! n-body training is a function of its seed, and it learns.

use learnsim_models::default_training_device;
use learnsim_sim::nbody::NBodyConfig;
use learnsim_train::object_dynamics::{
    ObjectTrainConfig, train_interaction_network, train_mlp_baseline,
};

fn config(seed: u64, steps: usize) -> ObjectTrainConfig {
    ObjectTrainConfig {
        seed,
        n_bodies: [3, 4],
        n_generalisation: 5,
        trajectories: [8, 2, 2, 2],
        frames: 30,
        steps,
        batch_size: 32,
        lr_initial: 1e-3,
        lr_final: 1e-5,
        lr_decay_steps: 1000.0,
        relation_hidden: 32,
        relation_layers: 2,
        effect: 16,
        object_hidden: 32,
        mlp_hidden: 32,
        mlp_layers: 2,
        validate_every: 50,
        rollout_steps: 10,
    }
}

#[test]
fn same_seed_same_losses_and_the_training_loss_falls() {
    let physics = NBodyConfig::default();
    let data: Vec<_> = (0..10)
        .map(|i| physics.simulate(3 + i % 2, 30, i as u64).unwrap())
        .collect();
    let (train, valid) = data.split_at(8);
    let device = default_training_device();
    let run = |seed, steps| {
        train_interaction_network(
            &config(seed, steps),
            train,
            valid,
            &device,
            None,
            &mut |_, _| {},
        )
        .unwrap()
    };
    let (a, b, c) = (run(1, 20), run(1, 20), run(2, 20));
    let losses = |f: &learnsim_train::object_dynamics::Fitted<_>| -> Vec<f32> {
        f.train_loss.iter().map(|p| p.loss).collect()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_ne!(losses(&a), losses(&c));

    // 1000 steps on 8 short trajectories: the mean training loss of the last 100 steps is far
    // below that of the first 100 (measured 0.54 -> 0.0039; asserted: 10x). Generalisation is
    // what `learnsim run nbody-2d` measures on held-out trajectories, not this test: with 8
    // trajectories the validation loss falls and then rises again (3.96 -> 2.60 at step 50 ->
    // 3.52), which is overfitting, not a bug.
    let long = run(1, 1000);
    let mean =
        |p: &[learnsim_train::LossPoint]| p.iter().map(|p| p.loss).sum::<f32>() / p.len() as f32;
    let (early, late) = (mean(&long.train_loss[..100]), mean(&long.train_loss[900..]));
    assert!(late < 0.1 * early, "training loss {early} -> {late}");

    // The MLP baseline refuses a body count it has no data for.
    let err = train_mlp_baseline(
        &config(1, 5),
        7,
        train,
        valid,
        &device,
        None,
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("7-body training"), "{err}");
}
