//! A loss that stops being finite ends training with `TrainError::Diverged` at the step it
//! happened, instead of training on NaN weights (issue #35; PDE-Net's trainer has its own test
//! in `pdenet.rs`). Every trainer that raises it is tested here: with a NaN in its data where
//! it accepts one, with a finite value whose square overflows where it refuses NaN, and with a
//! learning rate of 1e30 where it also rescales its data. The same call without the poison
//! trains.

use crate::common::{data, shipped, tiny_config};
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
    let mut config: PlasmaConfig = shipped("plasma-1d");
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
        None,
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
            None,
            &mut |_, _| {}
        )
        .is_ok()
    );
}

/// Trains on the poisoned data, expecting divergence at step 0, then on the clean data,
/// expecting it to train.
fn poison_diverges<D: ?Sized, T>(
    trainer: &str,
    poisoned: &D,
    clean: &D,
    train: impl Fn(&D) -> Result<T, TrainError>,
) {
    expect_divergence(trainer, train(poisoned));
    assert!(
        train(clean).is_ok(),
        "{trainer}: the clean data did not train"
    );
}

/// `Err(Diverged)` at step 0, or a panic naming the trainer and what it did instead.
fn expect_divergence<T>(trainer: &str, result: Result<T, TrainError>) {
    match result {
        Err(TrainError::Diverged { step: 0, loss }) => assert!(!loss.is_finite(), "{trainer}"),
        Err(other) => panic!("{trainer}: expected divergence at step 0, got {other}"),
        Ok(_) => panic!("{trainer}: a non-finite loss trained on"),
    }
}

/// A finite value whose square overflows f32: it passes the trainers' checks for non-finite
/// data (cosmology and nanophotonics refuse NaN before training) and, where the targets are
/// not rescaled, makes the loss infinite at the first step.
const HUGE: f32 = 1e30;

#[test]
fn the_cosmology_unet_trainer_reports_an_overflowing_loss_as_divergence() {
    use learnsim_sim::spectral::cosmology::CosmologyRecipe;
    use learnsim_train::cosmology::{CosmologyConfig, Displacements, train_unet};
    let recipe = CosmologyRecipe {
        n: 8,
        steps: 2,
        ..CosmologyRecipe::standard()
    };
    let values = 3 * 8 * 8 * 8;
    let field =
        |k: usize| -> Vec<f32> { (0..values).map(|i| (0.01 * (i + k) as f32).sin()).collect() };
    let universe = |k: usize, poison: bool| {
        let mut n_body = field(k + 1);
        if poison {
            n_body[5] = HUGE;
        }
        Displacements {
            zeldovich: field(k),
            second_order: field(k + 2),
            n_body,
        }
    };
    let config = CosmologyConfig {
        seed: 0,
        universe: recipe,
        train: 2,
        valid: 1,
        test: 0,
        extrapolation: 0,
        extrapolation_power: 1.5,
        widths: vec![4, 8],
        steps: 3,
        batch_size: 2,
        lr: 1e-3,
        lr_final: 1e-3,
        valid_every: 1,
        augment: false,
    };
    let device = default_training_device();
    let run = |poison| {
        let train = [universe(0, poison), universe(1, poison)];
        train_unet(
            &config,
            &train,
            &[universe(2, false)],
            &device,
            None,
            &mut |_, _| {},
        )
    };
    expect_divergence("cosmology", run(true));
    assert!(run(false).is_ok());
}

/// The autoencoder scales its fields by their RMS, so no finite datum overflows its loss; a
/// learning rate of 1e30 does, at the first step after the first update (Adam's first step
/// moves every weight by about the learning rate).
#[test]
fn the_turbulence_autoencoder_trainer_reports_an_exploding_loss_as_divergence() {
    use learnsim_models::FieldOutput;
    use learnsim_train::turbulence::{TurbulenceConfig, train_autoencoder};
    let mut config: TurbulenceConfig = shipped("hit-3d");
    config.flow.n = 8;
    config.epochs = 1;
    config.widths = vec![4, 8];
    let values = 3 * 8 * 8 * 8;
    let snapshot = |k: usize| -> Vec<f32> {
        (0..values)
            .map(|i| (0.02 * (i * (k + 1)) as f32).cos())
            .collect()
    };
    let train: Vec<Vec<f32>> = (0..4).map(snapshot).collect();
    let valid = [snapshot(9)];
    let device = default_training_device();
    let run = |lr: f64| {
        let config = TurbulenceConfig {
            lr,
            lr_final: lr,
            ..config.clone()
        };
        train_autoencoder(
            &config,
            FieldOutput::Velocity,
            &train,
            &valid,
            &device,
            None,
            &mut |_, _| {},
        )
    };
    match run(1e30) {
        Err(TrainError::Diverged { step: 1, loss }) => assert!(!loss.is_finite()),
        Err(other) => panic!("expected divergence at step 1, got {other}"),
        Ok(_) => panic!("an exploding loss trained on"),
    }
    assert!(run(config.lr).is_ok());
}

#[test]
fn the_scatternet_trainer_reports_an_overflowing_loss_as_divergence() {
    use learnsim_sim::mie::scatter_dataset;
    use learnsim_train::nanophotonics::{ScatterTrainConfig, train_scatter_net};
    let mut config: ScatterTrainConfig = shipped("nanophotonics");
    config.train_samples = 8;
    config.valid_samples = 2;
    config.epochs = 1;
    config.validate_every = 1;
    let data = scatter_dataset(&config.optics, 10, |i| 100 + i as u64).unwrap();
    let (train, valid) = data.split_at(8);
    let mut poisoned = train.to_vec();
    poisoned[0].spectrum[3] = f64::from(HUGE);
    let device = default_training_device();
    poison_diverges("nanophotonics", &poisoned[..], train, |data| {
        train_scatter_net(&config, data, valid, &device, None, &mut |_, _| {})
    });
}

#[test]
fn the_koopman_trainer_reports_a_nan_loss_as_divergence() {
    use learnsim_sim::rope::rope_groups;
    use learnsim_train::koopman::{KoopmanConfig, train_koopman};
    let mut config: KoopmanConfig = shipped("rope-koopman");
    config.fit_rollouts = 3;
    config.rollouts_per_group = 5;
    config.steps = 2;
    config.validate_every = 1;
    let groups = |count, seed: u64| rope_groups(&config.rope, 5..=6, count, 5, |g| seed + g as u64);
    let (train, valid) = (groups(2, 0), groups(1, 100));
    let mut poisoned = train.clone();
    for group in &mut poisoned {
        for rollout in &mut group.rollouts {
            rollout.states[1][0][0] = f64::NAN;
        }
    }
    let device = default_training_device();
    poison_diverges("koopman", &poisoned[..], &train[..], |data| {
        train_koopman(&config, data, &valid, &device, None, &mut |_, _| {})
    });
}

#[test]
fn the_glass_trainer_reports_a_nan_loss_as_divergence() {
    use crate::glass::{config, sample};
    use learnsim_train::glass::{GlassTrainConfig, train_glass_network};
    let config = GlassTrainConfig {
        train_configurations: 2,
        epochs: 1,
        ..config()
    };
    let (train, test) = (vec![sample(1), sample(2)], vec![sample(3)]);
    let mut poisoned = train.clone();
    for s in &mut poisoned {
        s.propensity[0] = f64::NAN;
    }
    let device = default_training_device();
    poison_diverges("glass", &poisoned[..], &train[..], |data| {
        train_glass_network(&config, data, &test, &device, None, &mut |_, _| {})
    });
}

/// Like the turbulence autoencoder, TF-Net's trainer scales its frames and refuses
/// non-finite ones: a learning rate of 1e30 makes the loss explode after the first update.
#[test]
fn the_kolmogorov_window_trainer_reports_an_exploding_loss_as_divergence() {
    use learnsim_train::tfnet::{Architecture, KolmogorovConfig, train_window_model};
    let mut config: KolmogorovConfig = shipped("kolmogorov-2d");
    config.flow.n = 16;
    config.widths = vec![4, 8];
    config.input_frames = 4;
    config.time_range = 2;
    config.output_frames = 2;
    config.steps = 3;
    config.batch_size = 2;
    config.valid_every = 1;
    let frame = |t: usize| -> Vec<f32> {
        (0..2 * 16 * 16)
            .map(|i| (0.05 * (i + 7 * t) as f32).sin())
            .collect()
    };
    let train: Vec<Vec<Vec<f32>>> = vec![(0..10).map(frame).collect()];
    let valid: Vec<Vec<f32>> = (20..26).map(frame).collect();
    let device = default_training_device();
    let network = config.network(Architecture::UNet);
    let run = |lr: f64| {
        let config = KolmogorovConfig {
            lr,
            ..config.clone()
        };
        train_window_model(
            &config,
            |d| network.init(d),
            0.0,
            &train,
            &valid,
            &device,
            None,
            &mut |_, _| {},
        )
    };
    match run(1e30) {
        Err(TrainError::Diverged { step: 1, loss }) => assert!(!loss.is_finite()),
        Err(other) => panic!("expected divergence at step 1, got {other}"),
        Ok(_) => panic!("an exploding loss trained on"),
    }
    assert!(run(1e-3).is_ok());
}

#[test]
fn the_interaction_network_trainer_reports_a_nan_loss_as_divergence() {
    use learnsim_sim::nbody::NBodyConfig;
    use learnsim_train::object_dynamics::{ObjectTrainConfig, train_interaction_network};
    let config = ObjectTrainConfig {
        seed: 0,
        n_bodies: [3, 4],
        n_generalisation: 5,
        trajectories: [4, 2, 2, 2],
        frames: 10,
        steps: 3,
        batch_size: 8,
        lr_initial: 1e-3,
        lr_final: 1e-5,
        lr_decay_steps: 1000.0,
        relation_hidden: 16,
        relation_layers: 2,
        effect: 8,
        object_hidden: 16,
        mlp_hidden: 16,
        mlp_layers: 2,
        validate_every: 1,
        rollout_steps: 5,
    };
    let physics = NBodyConfig::default();
    let data: Vec<_> = (0..6)
        .map(|i| physics.simulate(3, 10, i as u64).unwrap())
        .collect();
    let (train, valid) = data.split_at(4);
    let mut poisoned = train.to_vec();
    for t in &mut poisoned {
        for frame in &mut t.velocity {
            frame[0][0] = f64::NAN;
        }
    }
    let device = default_training_device();
    poison_diverges("interaction network", &poisoned[..], train, |data| {
        train_interaction_network(&config, data, valid, &device, None, &mut |_, _| {})
    });
}

#[test]
fn the_schnet_trainer_reports_a_nan_loss_as_divergence() {
    use learnsim_sim::stillinger_weber::Configuration;
    use learnsim_train::schnet::{SchNetTrainConfig, train_schnet};
    let mut config: SchNetTrainConfig = shipped("schnet-si");
    config.features = 8;
    config.interactions = 1;
    config.steps = 3;
    config.batch_size = 2;
    config.validate_every = 1;
    // Eight atoms on a 2.4 Å cube, jiggled per configuration; energies and forces are
    // arbitrary finite numbers (the trainer fits energies).
    let configuration = |k: usize| Configuration {
        positions: (0..8)
            .map(|i| {
                [0, 1, 2].map(|a| {
                    2.4 * ((i >> a) & 1) as f64 + 0.05 * ((3 * i + 5 * a + k) as f64).sin()
                })
            })
            .collect(),
        energy: -30.0 + 0.1 * k as f64,
        forces: vec![[0.0; 3]; 8],
    };
    let train: Vec<Configuration> = (0..4).map(configuration).collect();
    let valid: Vec<Configuration> = (4..6).map(configuration).collect();
    let mut poisoned = train.clone();
    for c in &mut poisoned {
        c.energy = f64::NAN;
    }
    let device = default_training_device();
    poison_diverges("schnet", &poisoned[..], &train[..], |data| {
        train_schnet(&config, data, &valid, &device, None, &mut |_, _| {})
    });
}

#[test]
fn the_pendulum_trainer_reports_a_nan_loss_as_divergence() {
    use learnsim_train::pendulum::{PendulumConfig, Plant, episodes, train_models};
    let mut config: PendulumConfig = shipped("pendulum-mpc");
    config.steps = 3;
    config.validate_every = 1;
    config.latent = 16;
    let plant = Plant::Pendulum(config.pendulum.clone());
    let train = episodes(&config, &plant, 4, |i| i as u64);
    let valid = episodes(&config, &plant, 2, |i| 100 + i as u64);
    let mut poisoned = train.clone();
    for e in &mut poisoned {
        for s in &mut e.states {
            s[0] = f64::NAN;
        }
    }
    let device = default_training_device();
    poison_diverges("pendulum", &poisoned[..], &train[..], |data| {
        train_models(&config, &plant, data, &valid, &device, None, &mut |_, _| {})
    });
}
