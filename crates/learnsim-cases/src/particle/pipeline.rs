//! `learnsim run` for a particle case: generate → train → rollout → evaluate → metrics.json,
//! report.md, plots, renders and the leaderboard row.

use super::evaluate::*;
use super::finished::*;
use super::generate::{self, GenerateArgs};
use super::train::*;
use crate::bars::{PassIf, bar};
use crate::request::RunArgs;
use crate::run_folder::{self, Restart, RunState};
use crate::runner::{Resolved, resolve_config};
use crate::{find_particle, leaderboard, plots, report};
use anyhow::{Result, bail};
use burn::module::Module;
use learnsim_data::{Dataset, load_dataset, write_bytes_atomically};
use learnsim_eval::{
    FrameStepper, LearnedStepper, Protocol, RigidProjection, RolloutBoundary, RolloutError, Scores,
};
use learnsim_train::{TrainConfig, Trainer};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Frames of a `--quick` trajectory. The falling-block scenes get 140, so that a test window
/// holds the impact (water-drop-2d's blocks leave free fall at frame 87 of test trajectory 0):
/// over 40 frames they only fall, ballistic prediction is exact there (its `mse_20` 4e-12) and
/// the `mse_20` bar divided the model's error by that. The SPH scenes keep 40: the Taylor–Green
/// flow has no walls, the dam break hits its wall within them, and SPH costs 10× MPM per frame.
fn quick_frames(case: learnsim_sim::Case) -> usize {
    use learnsim_sim::Case;
    match case {
        Case::WaterDrop2d | Case::Sand2d | Case::Goop2d => 140,
        Case::Tgv2d | Case::DamBreak2d | Case::BoxBath2d => 40,
    }
}

/// `learnsim run` for a particle case: generate → train → rollout → evaluate → metrics.json.
pub fn run(case: learnsim_sim::Case, args: &RunArgs) -> Result<String> {
    let out = args.out_dir(case.name());
    // The config at its tier (`[tiers.quick]`: a small network for 60 steps; the paper tier
    // sizes the data, not the training).
    let Resolved {
        config,
        tier,
        origin,
    } = resolve_config::<TrainConfig>(args.into(), case.name())?;
    check_ranks(&config, &origin)?;
    // Claim the folder before anything is written: a different run there is refused whole.
    let pending = identity(tier, &config, case.name(), run_folder::PENDING.into())?;
    // Data-parallel (`mpirun`): rank 0 claims the folder, generates the data and writes the
    // results; every rank trains.
    let world = learnsim_train::distributed::world();
    let root = world.rank() == 0;
    if root {
        run_folder::claim(&out, &pending, args.restart())?;
    }
    let data_dir = out.join("data");
    if root && !data_dir.join("metadata.json").exists() {
        let (frames, trajectories) = if args.quick {
            (Some(quick_frames(case)), Some([4, 1, 1]))
        } else {
            (None, None)
        };
        generate::run(&GenerateArgs {
            case: case.name().into(),
            out: Some(data_dir.clone()),
            seed: None,
            tier: args.tier,
            quick: false,
            config: None,
            frames,
            trajectories,
            friction_angles: None,
            scene: None,
            shard: None,
        })?;
    }
    world.barrier();
    let dataset = load_dataset(&data_dir)?;
    if dataset.metadata.case != case.name() {
        bail!(
            "{} holds a {} dataset, not {}; nothing was trained",
            data_dir.display(),
            dataset.metadata.case,
            case.name()
        );
    }
    let full = identity(
        tier,
        &config,
        case.name(),
        run_folder::dataset_hash(&data_dir)?,
    )?;
    if root {
        run_folder::claim(&out, &full, Restart::Refuse)?;
    }
    let (trainer, train_s) = train(&dataset, config, &out, None)?;
    if let Some(result) = crate::runner::result_of_other_rank(trainer.state.step) {
        return Ok(result);
    }
    finish(&out, &trainer, &dataset, tier, train_s)
}

/// Thresholds of a particle case's bars (issue #24): windowed `mse_20` against the better of
/// constant velocity and ballistic, and the share of escaped positions; for a case with a
/// rigid body (issue #29), its predicted shape error over 20 steps in particle spacings.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ParticleBars {
    mse_20_ratio: f64,
    escaped: f64,
    /// `mse_1` against the best one-step baseline: the flagship cases' third bar (issue #24);
    /// boxbath-2d's bars are the three its issue names, and its `mse_1` is reported.
    mse_1_ratio: Option<f64>,
    rigid_shape_spacings: Option<f64>,
}

impl ParticleBars {
    fn of(case: learnsim_sim::Case) -> Self {
        use learnsim_sim::Case;
        match case {
            Case::Sand2d | Case::Goop2d => Self {
                mse_20_ratio: 0.5,
                escaped: 0.01,
                mse_1_ratio: Some(0.1),
                rigid_shape_spacings: None,
            },
            Case::WaterDrop2d | Case::Tgv2d | Case::DamBreak2d => Self {
                mse_20_ratio: 0.2,
                escaped: 0.001,
                mse_1_ratio: Some(0.1),
                rigid_shape_spacings: None,
            },
            Case::BoxBath2d => Self {
                mse_20_ratio: 0.5,
                escaped: 0.01,
                mse_1_ratio: None,
                rigid_shape_spacings: Some(0.1),
            },
        }
    }
}

/// A particle case's bars on a model's metrics and the baselines' (metrics.json's `metrics`
/// and `baselines`), scored under the same protocol: `mse_20` against the better of constant
/// velocity and ballistic, the escaped share, `mse_1` against the best one-step baseline where
/// the case has that bar, and where it has a rigid body, its shape error over 20 steps in
/// spacings of `dx`.
pub(super) fn particle_bars(
    case: learnsim_sim::Case,
    metrics: &Value,
    baselines: &Value,
    dx: f64,
) -> Vec<crate::bars::Bar> {
    let best = |names: &[&str], metric: &str| {
        names
            .iter()
            .filter_map(|b| baselines[b][metric].as_f64())
            .fold(f64::INFINITY, f64::min)
    };
    let value = |name: &str| metrics[name].as_f64().unwrap_or(f64::NAN);
    let thresholds = ParticleBars::of(case);
    let mut bars = vec![
        bar(
            "mse_20 / best baseline mse_20",
            value("mse_20") / best(&["constant_velocity", "ballistic"], "mse_20"),
            thresholds.mse_20_ratio,
            PassIf::AtMost,
        ),
        bar(
            "escaped_fraction",
            value("escaped_fraction"),
            thresholds.escaped,
            PassIf::AtMost,
        ),
    ];
    if let Some(ratio) = thresholds.mse_1_ratio {
        bars.push(bar(
            "mse_1 / best baseline mse_1",
            value("mse_1") / best(&["persistence", "constant_velocity", "ballistic"], "mse_1"),
            ratio,
            PassIf::AtMost,
        ));
    }
    if let Some(spacings) = thresholds.rigid_shape_spacings {
        bars.push(bar(
            "rigid_shape_20 / dx",
            value("rigid_shape_20") / dx,
            spacings,
            PassIf::AtMost,
        ));
    }
    bars
}

/// A rollout that blew up (a non-finite position: only the learned model can produce one) is
/// recorded as a diverged run; any other error passes through.
fn rollout_divergence(out: &Path, e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<RolloutError>() {
        Some(blow_up @ RolloutError::NonFinite { .. }) => {
            let what = blow_up.to_string();
            crate::runner::record_divergence(
                out,
                "gns",
                &crate::runner::Divergence::Rollout { what },
            )
        }
        _ => e,
    }
}

/// A variant of the model's rollout reported beside the bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Positions clamped to the domain after every step.
    Clamped,
    /// A rigid body's particles replaced by the best rigid motion of its shape every step.
    ShapeMatched,
}

/// The model's scores on split `split` under `variant` (no Sinkhorn: these figures sit beside
/// the bars, not in them).
fn evaluate_variant(
    trainer: &Trainer,
    dataset: &Dataset,
    split: usize,
    variant: Variant,
) -> Result<Scores> {
    let model = trainer.inference_model().valid();
    let stepper = LearnedStepper::new(&trainer.simulator, &model);
    let (mut stepper, name) = match variant {
        Variant::Clamped => (
            stepper.with_boundary(RolloutBoundary::ClampToDomain),
            "gns clamped to the box",
        ),
        Variant::ShapeMatched => (
            stepper.with_rigid_projection(RigidProjection::ShapeMatching),
            "gns with shape matching",
        ),
    };
    let protocol = Protocol {
        context: stepper.warmup(),
        sinkhorn_horizons: Vec::new(),
        ..Protocol::default()
    };
    let mut scores = score_with_bar(
        &mut [&mut stepper],
        &[name],
        &dataset.splits[split],
        &dataset.metadata,
        &protocol,
    )?;
    Ok(scores.remove(0))
}

/// Where a run records itself: the leaderboard of the folder holding the run folder.
pub fn leaderboard_of(run: &Path) -> PathBuf {
    let root = run
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    root.join(leaderboard::FILE)
}

/// Evaluates a trained run and writes everything a reader needs into `out`: metrics.json,
/// report.md, the plots, the GIF and VTK renders of test trajectory 0; then records the run in
/// the leaderboard next to `out`. Returns a one-line summary.
pub fn finish(
    out: &Path,
    trainer: &Trainer,
    dataset: &Dataset,
    tier: &str,
    train_s: f64,
) -> Result<String> {
    let metadata = &dataset.metadata;
    let case = find_particle(&metadata.case)?;
    // One-step loss on the fixed, noise-free validation windows: untrained vs trained.
    let state = &trainer.state;
    let rows = learnsim_train::train_log::rows(&state.log, &state.train_loss, &state.valid_loss);
    let model = trainer.config.model.name();
    crate::runner::write_train_log(out, &[(model.to_string(), rows)])?;
    let valid_loss = &trainer.state.valid_loss;
    let first_loss = valid_loss.first().map_or(f64::NAN, |p| f64::from(p.loss));
    let last_loss = valid_loss.last().map_or(f64::NAN, |p| f64::from(p.loss));
    let evaluation = evaluate(trainer, dataset, 2).map_err(|e| rollout_divergence(out, e))?;
    let mut metrics = json!(evaluation.model.metrics);
    metrics["valid_loss_initial"] = json!(first_loss);
    metrics["valid_loss_final"] = json!(last_loss);
    let baselines = evaluation.baselines_json();
    let rollout_fps = evaluation.model.frames_per_s();

    // Ground-truth speed, same machine, same run: one test-length trajectory.
    let frames = dataset.splits[2].first().map_or(10, |t| t.n_frames);
    let gt_tier = if metadata.tier == "paper" {
        learnsim_sim::Tier::Paper
    } else {
        learnsim_sim::Tier::Cpu
    };
    let gt_start = Instant::now();
    case.simulate(gt_tier, 12345, frames, &|| {})?;
    let gt_fps = frames as f64 / gt_start.elapsed().as_secs_f64();

    // The bars judge the model's own rollout; the same rollout with positions clamped to the
    // box (as the solver and the ballistic baseline clamp) is reported beside them.
    let clamped = evaluate_variant(trainer, dataset, 2, Variant::Clamped)
        .map_err(|e| rollout_divergence(out, e))?;
    for name in ["mse_1", "mse_20", "mse_full", "escaped_fraction"] {
        metrics[format!("{name}_clamped")] = json!(clamped.metrics.get(name));
    }
    // A case with a rigid body: the same rollout with DPI-Nets' shape matching, beside the bars
    // (which judge the box as the model predicts it).
    let has_rigid = dataset.splits[2]
        .iter()
        .any(|t| t.kind.contains(&learnsim_core::ParticleKind::Rigid));
    if has_rigid {
        let matched = evaluate_variant(trainer, dataset, 2, Variant::ShapeMatched)
            .map_err(|e| rollout_divergence(out, e))?;
        for name in [
            "mse_1",
            "mse_20",
            "mse_full",
            "escaped_fraction",
            "rigid_shape_20",
        ] {
            metrics[format!("{name}_shape_matched")] = json!(matched.metrics.get(name));
        }
    }
    // Share of training windows with over 10 % of their particles in contact, and of draws.
    let share = trainer.contact_share(&dataset.splits[0]);
    metrics["contact_window_share"] = json!(share.uniform);
    metrics["contact_window_share_drawn"] = json!(share.weighted);
    // Likewise for impact windows (over 10 % of the particles far off free fall).
    let impacts = trainer.window_share(&dataset.splits[0], learnsim_train::WindowCriterion::Impact);
    metrics["impact_window_share"] = json!(impacts.uniform);
    metrics["impact_window_share_drawn"] = json!(impacts.weighted);
    let bars = particle_bars(case, &metrics, &baselines, metadata.dx);
    // A run killed mid-training is scored as it stands, but never passes.
    let finished = trainer.state.step >= trainer.config.steps;
    let state = if finished {
        "finished".to_string()
    } else {
        format!(
            "unfinished (step {} of {})",
            trainer.state.step, trainer.config.steps
        )
    };
    let pass = finished && crate::bars::all_pass(&bars);
    let report = json!({
        "case": case.name(),
        "model": trainer.config.model.name(),
        "tier": tier,
        "state": state,
        "seed": trainer.config.seed,
        "metrics": metrics,
        "baselines": baselines,
        "bars": bars,
        "pass": pass,
        "timing": {
            "train_s": train_s,
            "rollout_steps_per_s": rollout_fps,
            "ground_truth_steps_per_s": gt_fps,
            "speedup": rollout_fps / gt_fps,
            "rollout_stage_shares": stage_shares(&evaluation.stages),
            "evaluation": evaluation.timing_json(),
        },
    });
    let path = out.join("metrics.json");
    write_bytes_atomically(&path, serde_json::to_string_pretty(&report)?.as_bytes())?;

    // Figures and renders.
    let series: Vec<(&str, &Value)> = std::iter::once(("gns", &report["metrics"]))
        .chain(
            ["persistence", "constant_velocity", "ballistic"]
                .iter()
                .map(|b| (*b, &report["baselines"][b])),
        )
        .collect();
    plots::error_vs_horizon(&out.join("error_vs_horizon.png"), &series, "mse")?;
    let curve = |points: &[learnsim_train::LossPoint]| -> Vec<(usize, f32)> {
        points.iter().map(|p| (p.step, p.loss)).collect()
    };
    plots::loss_curves(
        &out.join("loss.png"),
        &curve(&trainer.state.train_loss),
        &curve(&trainer.state.valid_loss),
        plots::LossFigure {
            title: "one-step loss (normalised acceleration MSE)",
            train: "train on noisy inputs",
            check: "validation (noise-free inputs)",
        },
    )?;
    render_run(out, trainer, dataset, RenderFormat::All)?;
    write_bytes_atomically(&out.join("report.md"), report::markdown(&report).as_bytes())?;
    let config_text = toml::to_string(&trainer.config)?;
    let db = leaderboard_of(out);
    leaderboard::record(&db, out, &report, &config_text)?;
    if finished {
        run_folder::set_state(out, RunState::Finished)?;
    }
    Ok(format!(
        "{}: mse_20 {:.3e} ({} {:.3}), valid loss {first_loss:.3} -> {last_loss:.4}, pass = {pass}; wrote {} and report.md; recorded in {}",
        case.name(),
        report["metrics"]["mse_20"].as_f64().unwrap_or(f64::NAN),
        bars[0].name,
        bars[0].value,
        path.display(),
        db.display()
    ))
}
