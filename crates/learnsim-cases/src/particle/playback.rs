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

/// Bytes of playback files a run writes at most: every test trajectory while they fit (the
/// CPU tier's always do: a water-drop-2d trajectory is about 4 MB), the first ones that fit
/// when they do not (a paper-tier trajectory of 1000 frames of 2000 particles is 64 MB), and
/// always one.
pub const MAX_BYTES: usize = 256 << 20;

/// Folder of the playback files inside a run folder.
pub const DIR: &str = "playback";

/// Writes `out/playback/test_K.lsp` for the test trajectories (all, or the first that fit in
/// [`MAX_BYTES`]), returning how many. `first`: the GNS's rollout of test trajectory 0 from
/// its input frames when the caller has it already (`render_run` draws it), so it is not
/// rolled out twice.
pub fn write_all(
    out: &Path,
    trainer: &Trainer,
    dataset: &Dataset,
    first: Option<&Trajectory>,
) -> Result<usize> {
    let dir = out.join(DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let model = trainer.inference_model().valid();
    let tests = &dataset.splits[2];
    // Four series (truth, GNS, two baselines) of f32.
    let bytes = |t: &Trajectory| 4 * 4 * t.position.len();
    let mut total = 0;
    let count = tests
        .iter()
        .take_while(|t| {
            total += bytes(t);
            total <= MAX_BYTES
        })
        .count()
        .max(1);
    if count < tests.len() {
        crate::progress::note(format_args!(
            "playback: the first {count} of {} test trajectories (the rest would pass {} MB)",
            tests.len(),
            MAX_BYTES >> 20
        ));
    }
    for (k, truth) in tests.iter().take(count).enumerate() {
        let mut gns = LearnedStepper::new(&trainer.simulator, &model);
        let mut ballistic = Ballistic {
            gravity_dt2: dataset.metadata.gravity_per_frame(),
            walls: dataset.metadata.walls(),
        };
        let context = gns.warmup();
        let mut series = vec![Series {
            name: "truth".into(),
            data: truth.position.clone(),
        }];
        let mut steppers: Vec<(&str, &mut dyn FrameStepper)> = Vec::with_capacity(3);
        match first.filter(|_| k == 0) {
            Some(done) => series.push(Series {
                name: "gns".into(),
                data: done.position.clone(),
            }),
            None => steppers.push(("gns", &mut gns)),
        }
        steppers.push(("ballistic", &mut ballistic));
        let mut constant_velocity = ConstantVelocity;
        steppers.push(("constant_velocity", &mut constant_velocity));
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
        extras: Vec::new(),
    }
}
