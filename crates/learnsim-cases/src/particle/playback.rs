//! `RUN/playback/test_K.lsp`: each test trajectory rolled out from its first frames by the
//! trained GNS and by the two moving baselines, for `learnsim view`'s player.

use anyhow::{Context, Result};
use burn::module::Module;
use learnsim_core::{ParticleKind, Trajectory};
use learnsim_data::Dataset;
use learnsim_data::playback::{Playback, Scene, Series};
use learnsim_eval::{Ballistic, ConstantVelocity, FrameStepper, LearnedStepper, rollout_after};
use learnsim_train::Trainer;
use std::path::Path;

/// Test trajectories written at most: the player offers each; more would only fill the disk
/// (a CPU-tier water-drop trajectory is about 6 MB).
pub const MAX_TRAJECTORIES: usize = 8;

/// Folder of the playback files inside a run folder.
pub const DIR: &str = "playback";

/// Writes `out/playback/test_K.lsp` for the first [`MAX_TRAJECTORIES`] test trajectories,
/// returning how many.
pub fn write_all(out: &Path, trainer: &Trainer, dataset: &Dataset) -> Result<usize> {
    let dir = out.join(DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let model = trainer.inference_model().valid();
    let tests = &dataset.splits[2];
    let count = tests.len().min(MAX_TRAJECTORIES);
    for (k, truth) in tests.iter().take(count).enumerate() {
        let mut gns = LearnedStepper::new(&trainer.simulator, &model);
        let mut ballistic = Ballistic {
            gravity_dt2: dataset.metadata.gravity_per_frame(),
            walls: dataset.metadata.walls(),
        };
        let context = gns.warmup();
        let steppers: [(&str, &mut dyn FrameStepper); 3] = [
            ("gns", &mut gns),
            ("ballistic", &mut ballistic),
            ("constant_velocity", &mut ConstantVelocity),
        ];
        let mut series = vec![Series {
            name: "truth".into(),
            data: truth.position.clone(),
        }];
        for (name, stepper) in steppers {
            let rolled = rollout_after(stepper, truth, context)
                .with_context(|| format!("{name} on test trajectory {k}"))?;
            series.push(Series {
                name: name.into(),
                data: rolled.predicted.position,
            });
        }
        let playback = particle_playback(
            format!("test trajectory {k}"),
            truth,
            dataset.metadata.bounds.clone(),
            dataset.metadata.dt,
            context,
            series,
        );
        let path = dir.join(format!("test_{k}.lsp"));
        playback.write(&path)?;
    }
    Ok(count)
}

/// A particle [`Playback`] of `truth`'s shape: classes by material, in [`ParticleKind::ALL`]'s
/// order of the kinds present.
pub fn particle_playback(
    title: String,
    truth: &Trajectory,
    bounds: Vec<[f64; 2]>,
    frame_seconds: f64,
    context: usize,
    series: Vec<Series>,
) -> Playback {
    let present: Vec<ParticleKind> = ParticleKind::ALL
        .into_iter()
        .filter(|k| truth.kind.contains(k))
        .collect();
    let classes = truth
        .kind
        .iter()
        .map(|k| present.iter().position(|p| p == k).unwrap_or(0) as u8)
        .collect();
    Playback {
        title,
        scene: Scene::Particles {
            bounds,
            classes,
            class_names: present.iter().map(|k| k.name().to_string()).collect(),
        },
        frames: truth.n_frames,
        shape: vec![truth.n_particles, truth.dim],
        context,
        frame_seconds,
        series,
    }
}
