//! Fixtures shared by the trainer's tests: a tiny GNS recipe and two short water-drop
//! trajectories with their metadata.

use learnsim_core::Metadata;
use learnsim_sim::{Case, Split, Tier, trajectory_seed};
use learnsim_train::{AccelerationOffset, LrSchedule, TrainConfig, TrainKernel, WindowWeighting};

pub fn tiny_config() -> TrainConfig {
    TrainConfig {
        seed: 3,
        steps: 6,
        batch_size: 2,
        lr_initial: 1e-3,
        lr_final: 1e-4,
        lr_schedule: LrSchedule::Exponential,
        lr_decay_steps: Some(1000.0),
        ema_decay: 0.0,
        noise_std: 3e-4,
        history: 5,
        connectivity_radius: None,
        wall_horizon: 1.0,
        wall_nodes: Default::default(),
        pushforward: None,
        window_weighting: WindowWeighting::Uniform,
        augmentation: Default::default(),
        acceleration_offset: AccelerationOffset::Data,
        rigid_loss_weight: 1.0,
        noise_correction: Default::default(),
        rigid_target: Default::default(),
        model: Default::default(),
        vector_channels: 16,
        embedding_dim: 4,
        latent: 16,
        n_hidden: 1,
        message_passing_steps: 2,
        validate_every: 3,
        validation_windows: 2,
        checkpoint_every: 3,
        kernel: TrainKernel::Auto,
        features: Default::default(),
    }
}

pub fn data() -> (Vec<learnsim_core::Trajectory>, Metadata) {
    let train: Vec<_> = (0..2)
        .map(|i| {
            Case::WaterDrop2d
                .simulate(Tier::Cpu, trajectory_seed(9, Split::Train, i), 12, &|| {})
                .unwrap()
        })
        .collect();
    let info = Case::WaterDrop2d.info(Tier::Cpu);
    let stats = learnsim_data::difference_stats(&train, &[None, None]);
    let metadata = Metadata {
        dim: 2,
        bounds: info.bounds,
        dt: info.frame_dt,
        default_connectivity_radius: info.connectivity_radius,
        periodic_boundary_conditions: info.periodic,
        num_particles_max: 600,
        sequence_length_train: 11,
        sequence_length_test: 11,
        vel_mean: stats.vel_mean,
        vel_std: stats.vel_std,
        acc_mean: stats.acc_mean,
        acc_std: stats.acc_std,
        dx: info.dx,
        particle_type_convention: info.convention,
        gravity: info.gravity,
        case: "water-drop-2d".into(),
        solver: "mls-mpm".into(),
        tier: "cpu".into(),
        seed: 9,
        num_trajectories: [2, 0, 0],
        scene: None,
        features: Default::default(),
    };
    (train, metadata)
}

/// The config the repository ships as `configs/CASE.toml`, without its `[tiers]`, and its
/// tiers.
pub fn shipped_file<C: serde::de::DeserializeOwned>(
    case: &str,
) -> (C, Option<learnsim_train::tiers::Tiers>) {
    let path = format!("{}/../../configs/{case}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    learnsim_train::tiers::parse_config(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The config the repository ships as `configs/CASE.toml` (the CPU tier: the file as written).
pub fn shipped<C: serde::de::DeserializeOwned>(case: &str) -> C {
    shipped_file(case).0
}

/// A small Interaction Network recipe on 3-body n-body trajectories of 20 frames: 12 steps of
/// batch 16, validated every 5 (the object-dynamics trainer's tests).
pub fn small_object_config() -> learnsim_train::object_dynamics::ObjectTrainConfig {
    learnsim_train::object_dynamics::ObjectTrainConfig {
        seed: 3,
        n_bodies: [3, 3],
        n_generalisation: 4,
        trajectories: [4, 2, 2, 2],
        frames: 20,
        steps: 12,
        batch_size: 16,
        lr_initial: 1e-3,
        lr_final: 1e-5,
        lr_decay_steps: 1000.0,
        relation_hidden: 16,
        relation_layers: 2,
        effect: 8,
        object_hidden: 16,
        mlp_hidden: 16,
        mlp_layers: 2,
        validate_every: 5,
        rollout_steps: 5,
    }
}
