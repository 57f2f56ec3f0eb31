//! `learnsim train`, `learnsim rollout` and `learnsim run`: the GNS pipeline end to end.

use crate::generate::{self, GenerateArgs};
use crate::run_folder::{self, Restart, RunIdentity, RunState};
use crate::{TierArg, find_case, leaderboard, plots, render, report};
use anyhow::{Context, Result, bail};
use burn::module::Module;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use learnsim_core::{Metadata, Trajectory};
use learnsim_data::{Dataset, load_dataset, write_bytes_atomically};
use learnsim_eval::{
    Ballistic, ConstantVelocity, FrameStepper, LearnedStepper, Persistence, Protocol,
    RolloutBoundary, Scores, StageSeconds, rollout, score_all,
};
use learnsim_models::default_training_device;
use learnsim_train::{TrainConfig, Trainer, Validate};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `learnsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Case name (see `learnsim cases`).
    pub case: String,
    /// Run folder [default: runs/CASE, runs/CASE-quick with --quick, runs/CASE-paper].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Problem size of the generated data.
    #[arg(long, value_enum, default_value_t = TierArg::Cpu)]
    pub tier: TierArg,
    /// A 1–2 minute version for smoke tests: little data, few steps.
    #[arg(long)]
    pub quick: bool,
    /// Training config [default: configs/CASE.toml].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Replace another run found in the run folder instead of refusing (only a folder with a
    /// run.json is ever deleted).
    #[arg(long)]
    pub restart: bool,
}

impl RunArgs {
    /// What to do with another run in the folder.
    pub fn restart(&self) -> Restart {
        if self.restart {
            Restart::Replace
        } else {
            Restart::Refuse
        }
    }

    /// The run folder: `--out`, else `runs/CASE` for the CPU tier, `runs/CASE-quick` for
    /// `--quick` and `runs/CASE-paper` for the paper tier, so that the README's smoke run and
    /// main job never share a folder (issue #33).
    pub fn out_dir(&self, case: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let suffix = if self.quick {
                "-quick"
            } else if matches!(self.tier, TierArg::Paper) {
                "-paper"
            } else {
                ""
            };
            PathBuf::from("runs").join(format!("{case}{suffix}"))
        })
    }
}

/// Arguments of `learnsim train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Dataset folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Training config (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// Run folder; the same run's checkpoint there is resumed, another run is refused.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace another run found in `--out` instead of refusing.
    #[arg(long)]
    pub restart: bool,
}

/// Reads a TOML training config and checks every field, naming the file in any error.
pub fn read_config(path: &Path) -> Result<TrainConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config: TrainConfig = toml::from_str(&text)
        .with_context(|| format!("{}: not a valid training config", path.display()))?;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(config)
}

/// The identity of a GNS run on `dataset` with `config`.
fn identity(
    tier: &str,
    config: &TrainConfig,
    case: &str,
    dataset_hash: String,
) -> Result<RunIdentity> {
    Ok(RunIdentity {
        case: case.to_string(),
        tier: tier.to_string(),
        seed: Some(config.seed),
        config_hash: leaderboard::config_hash(&toml::to_string(config)?),
        dataset_hash,
    })
}

/// Trains (resuming from `out/checkpoint` if present) and returns the trainer and the seconds
/// of training over every segment of the run. `out` must have been claimed
/// ([`run_folder::claim`]).
#[expect(
    clippy::print_stderr,
    reason = "progress lines when stderr is not a terminal"
)]
pub fn train(dataset: &Dataset, config: TrainConfig, out: &Path) -> Result<(Trainer, f64)> {
    for (k, name) in ["train", "valid"].iter().enumerate() {
        if dataset.splits[k].is_empty() {
            anyhow::bail!(
                "the dataset has no {name} trajectories (DeepMind and geoelements datasets often ship without a valid split); training needs both train and valid"
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_bytes_atomically(
        &out.join("config.toml"),
        toml::to_string(&config)?.as_bytes(),
    )
    .context("cannot save the resolved config")?;
    let mut trainer = Trainer::new(config.clone(), &dataset.metadata, default_training_device());
    let checkpoint = out.join("checkpoint");
    if checkpoint.join("state.json").exists() {
        trainer.load_checkpoint(&checkpoint)?;
    }
    let bar = ProgressBar::new(config.steps as u64).with_style(
        ProgressStyle::with_template(
            "train [{elapsed_precise}] {wide_bar} {pos}/{len} steps ({per_sec}, ETA {eta}) {msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(trainer.state.step as u64);
    let mut segment = Instant::now();
    let (train, valid) = (&dataset.splits[0], &dataset.splits[1]);
    if trainer.state.step == 0 && trainer.state.valid_loss.is_empty() {
        // The untrained model's validation loss, reported beside the trained one.
        let v = trainer.evaluate(valid)?;
        trainer
            .state
            .valid_loss
            .push(learnsim_train::LossPoint { step: 0, loss: v });
    }
    while trainer.state.step < config.steps {
        let loss = match trainer.train_step(train) {
            Ok(loss) => loss,
            Err(e) => {
                if matches!(e, learnsim_train::TrainError::Diverged { .. }) {
                    run_folder::set_state(out, RunState::Diverged)?;
                }
                return Err(e.into());
            }
        };
        let step = trainer.state.step;
        bar.set_message(format!("loss {loss:.4}"));
        bar.inc(1);
        if step.is_multiple_of(config.validate_every.max(1)) || step == config.steps {
            let v = trainer.evaluate(valid)?;
            trainer
                .state
                .valid_loss
                .push(learnsim_train::LossPoint { step, loss: v });
            if bar.is_hidden() {
                // No terminal (a log file, CI): one line per validation instead of a bar.
                let rate = bar.per_sec();
                eprintln!(
                    "step {step}/{}: train loss {loss:.4}, valid loss {v:.4}, {rate:.2} steps/s",
                    config.steps
                );
            }
        }
        if step.is_multiple_of(config.checkpoint_every.max(1)) || step == config.steps {
            trainer.state.seconds += segment.elapsed().as_secs_f64();
            segment = Instant::now();
            trainer.save_checkpoint(&checkpoint)?;
        }
    }
    bar.finish_and_clear();
    let seconds = trainer.state.seconds;
    Ok((trainer, seconds))
}

/// Each stage's share of the learned rollouts' time (neighbour search, features, network,
/// decode), for metrics.json.
fn stage_shares(s: &StageSeconds) -> Value {
    let total = s.total().max(1e-12);
    json!({
        "neighbors": s.neighbors / total,
        "features": s.features / total,
        "network": s.network / total,
        "decode": s.decode / total,
    })
}

/// The trained model's and the baselines' scores over one split under the standard protocol.
#[derive(Debug)]
pub struct Evaluation {
    /// The learned simulator.
    pub model: Scores,
    /// `persistence`, `constant_velocity`, `ballistic`, in that order.
    pub baselines: Vec<(&'static str, Scores)>,
    /// Where the learned rollouts spent their time.
    pub stages: StageSeconds,
}

impl Evaluation {
    /// Baselines as the metrics.json object `{name: {metric: value}}`.
    pub fn baselines_json(&self) -> Value {
        Value::Object(
            self.baselines
                .iter()
                .map(|(name, s)| ((*name).to_string(), json!(s.metrics)))
                .collect(),
        )
    }

    /// Seconds of the whole evaluation (model and baselines) spent rolling out, computing
    /// metrics and, of that, in the Sinkhorn solver: metrics.json's `timing.evaluation`.
    pub fn timing_json(&self) -> Value {
        let all = std::iter::once(&self.model).chain(self.baselines.iter().map(|(_, s)| s));
        let (mut rollout, mut metrics, mut sinkhorn) = (0.0, 0.0, 0.0);
        for s in all {
            rollout += s.seconds;
            metrics += s.metrics_seconds;
            sinkhorn += s.sinkhorn_seconds;
        }
        json!({"rollout_s": rollout, "metrics_s": metrics, "sinkhorn_s": sinkhorn})
    }
}

/// [`score_all`] of `steppers` (called `names` in errors) behind one progress bar over the
/// (window, stepper) rollouts, with its ETA.
fn score_with_bar(
    steppers: &mut [&mut dyn FrameStepper],
    names: &[&str],
    truths: &[Trajectory],
    metadata: &Metadata,
    protocol: &Protocol,
) -> Result<Vec<Scores>> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} windows × models, {elapsed} elapsed, ETA {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_message(format!(
        "scoring {} on {} trajectories",
        names.join(", "),
        truths.len()
    ));
    let scores = score_all(steppers, truths, metadata, protocol, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
    })
    .map_err(|e| {
        anyhow::Error::new(e.source).context(format!("the {} rollout failed", names[e.stepper]))
    });
    bar.finish_and_clear();
    scores
}

/// Rolls the model and the baselines out over every trajectory of split `split` (0 train,
/// 1 valid, 2 test) under [`Protocol::default`] with the model's context. The baselines share
/// the windows and the ground truth's side of the metrics with the model.
pub fn evaluate(trainer: &Trainer, dataset: &Dataset, split: usize) -> Result<Evaluation> {
    let model = trainer.inference_model().valid();
    let metadata = &dataset.metadata;
    let mut stepper = LearnedStepper::new(&trainer.simulator, &model);
    let protocol = Protocol {
        context: stepper.warmup(),
        ..Protocol::default()
    };
    let truths = &dataset.splits[split];
    let mut ballistic = Ballistic {
        gravity_dt2: metadata.gravity_per_frame(),
        walls: metadata.walls(),
    };
    let (mut persistence, mut constant_velocity) = (Persistence, ConstantVelocity);
    let names = ["gns", "persistence", "constant_velocity", "ballistic"];
    let scores = score_with_bar(
        &mut [
            &mut stepper,
            &mut persistence,
            &mut constant_velocity,
            &mut ballistic,
        ],
        &names,
        truths,
        metadata,
        &protocol,
    )?;
    let mut scores = scores.into_iter();
    let model = scores.next().expect("one score per stepper");
    let baselines = names[1..].iter().copied().zip(scores).collect();
    Ok(Evaluation {
        model,
        baselines,
        stages: stepper.timing,
    })
}

/// Arguments of `learnsim rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// Run folder holding config.toml and checkpoint/.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Split to roll out.
    #[arg(long, value_parser = ["train", "valid", "test"], default_value = "test")]
    pub split: String,
}

/// `learnsim rollout`: the trained model and the baselines over one split, as JSON.
pub fn rollout_command(args: &RolloutArgs) -> Result<String> {
    let (trainer, dataset) = load_run(&args.run, Some(&args.data))?;
    let split = learnsim_data::SPLITS
        .iter()
        .position(|s| *s == args.split)
        .unwrap_or(2);
    let e = evaluate(&trainer, &dataset, split)?;
    if e.model.metrics.is_empty() {
        bail!(
            "no {} trajectory of {} is longer than the {} frames a window starts from: nothing to score",
            args.split,
            args.data.display(),
            trainer.simulator.config.history + 2
        );
    }
    let report = json!({
        "split": args.split,
        "metrics": e.model.metrics,
        "baselines": e.baselines_json(),
        "rollout_steps_per_s": e.model.frames_per_s(),
        "timing": e.timing_json(),
    });
    Ok(serde_json::to_string_pretty(&report)?)
}

/// `learnsim train`.
pub fn train_command(args: &TrainArgs) -> Result<String> {
    let config = read_config(&args.config)?;
    let dataset = load_dataset(&args.data)?;
    let metadata = &dataset.metadata;
    let identity = identity(
        &metadata.tier,
        &config,
        &metadata.case,
        run_folder::dataset_hash(&args.data)?,
    )?;
    let restart = if args.restart {
        Restart::Replace
    } else {
        Restart::Refuse
    };
    run_folder::claim(&args.out, &identity, restart)?;
    let (trainer, seconds) = train(&dataset, config, &args.out)?;
    Ok(format!(
        "trained {} steps in {seconds:.1} s; last loss {:.5}; checkpoint in {}",
        trainer.state.step,
        trainer.state.train_loss.last().map_or(f32::NAN, |p| p.loss),
        args.out.join("checkpoint").display()
    ))
}

/// `learnsim run`: generate → train → rollout → evaluate → metrics.json.
pub fn run(args: &RunArgs) -> Result<String> {
    if args.case == crate::nbody_case::NAME {
        return crate::nbody_case::run(args);
    }
    if args.case == crate::glass_case::NAME {
        return crate::glass_case::run(args);
    }
    if args.case == crate::nanophotonics_case::NAME {
        return crate::nanophotonics_case::run(args);
    }
    if args.case == crate::pendulum_case::NAME {
        return crate::pendulum_case::run(args);
    }
    if args.case == crate::burgers_case::NAME {
        return crate::burgers_case::run(args);
    }
    if args.case == crate::kolmogorov_case::NAME {
        return crate::kolmogorov_case::run(args);
    }
    if args.case == crate::cosmo_case::NAME {
        return crate::cosmo_case::run(args);
    }
    if args.case == crate::hit_case::NAME {
        return crate::hit_case::run(args);
    }
    if args.case == crate::rope_case::NAME {
        return crate::rope_case::run(args);
    }
    if args.case == crate::schnet_case::NAME {
        return crate::schnet_case::run(args);
    }
    if args.case == crate::chain_case::NAME {
        return crate::chain_case::run(args);
    }
    if args.case == crate::plasma_case::NAME {
        return crate::plasma_case::run(args);
    }
    let case = find_case(&args.case)?;
    let out = args.out_dir(case.name());
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("configs").join(format!("{}.toml", case.name())));
    if !config_path.exists() {
        bail!(
            "no training config at {} (pass --config FILE)",
            config_path.display()
        );
    }
    let mut config = read_config(&config_path)?;
    if args.quick {
        config.steps = 60;
        config.latent = 32;
        config.message_passing_steps = 2;
        config.validate_every = 20;
        config.validation_windows = 2;
        config.checkpoint_every = 30;
        config.lr_decay_steps = None;
        // Neither lever has room in 60 steps on 4 trajectories of 40 frames: pushforward starts
        // later, and contact weighting would spend the steps on the few landing windows while
        // validation draws uniformly (measured: clean loss 0.028 → 0.039 with it, → 0.020
        // without).
        config.pushforward = None;
        config.window_weighting = learnsim_train::WindowWeighting::Uniform;
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("{} with --quick: {e}", config_path.display()))?;
    }
    let tier = if args.quick {
        "quick"
    } else {
        learnsim_sim::Tier::from(args.tier).name()
    };
    // Claim the folder before anything is written: a different run there is refused whole.
    let pending = identity(tier, &config, case.name(), run_folder::PENDING.into())?;
    run_folder::claim(&out, &pending, args.restart())?;
    let data_dir = out.join("data");
    if !data_dir.join("metadata.json").exists() {
        let (frames, trajectories) = if args.quick {
            (Some(40), Some([4, 1, 1]))
        } else {
            (None, None)
        };
        generate::run(&GenerateArgs {
            case: case.name().into(),
            out: Some(data_dir.clone()),
            seed: 0,
            tier: args.tier,
            frames,
            trajectories,
            friction_angles: None,
        })?;
    }
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
    run_folder::claim(&out, &full, Restart::Refuse)?;
    let (trainer, train_s) = train(&dataset, config, &out)?;
    finish(&out, &trainer, &dataset, tier, train_s)
}

/// Thresholds of a particle case's bars (issue #24): windowed `mse_20` against the better of
/// constant velocity and ballistic, and the share of escaped positions.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ParticleBars {
    mse_20_ratio: f64,
    escaped: f64,
}

impl ParticleBars {
    fn of(case: learnsim_sim::Case) -> Self {
        use learnsim_sim::Case;
        match case {
            Case::Sand2d | Case::Goop2d => Self {
                mse_20_ratio: 0.5,
                escaped: 0.01,
            },
            Case::WaterDrop2d | Case::Tgv2d | Case::DamBreak2d => Self {
                mse_20_ratio: 0.2,
                escaped: 0.001,
            },
        }
    }
}

/// The model's scores on split `split` with its positions clamped to the domain after every
/// step (no Sinkhorn: these figures sit beside the bars, not in them).
fn evaluate_clamped(trainer: &Trainer, dataset: &Dataset, split: usize) -> Result<Scores> {
    let model = trainer.inference_model().valid();
    let mut stepper = LearnedStepper::new(&trainer.simulator, &model)
        .with_boundary(RolloutBoundary::ClampToDomain);
    let protocol = Protocol {
        context: stepper.warmup(),
        sinkhorn_horizons: Vec::new(),
        ..Protocol::default()
    };
    let mut scores = score_with_bar(
        &mut [&mut stepper],
        &["gns clamped to the box"],
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
    let case = find_case(&metadata.case)?;
    // One-step loss on the fixed, noise-free validation windows: untrained vs trained.
    let valid_loss = &trainer.state.valid_loss;
    let first_loss = valid_loss.first().map_or(f64::NAN, |p| f64::from(p.loss));
    let last_loss = valid_loss.last().map_or(f64::NAN, |p| f64::from(p.loss));
    let evaluation = evaluate(trainer, dataset, 2)?;
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

    let better_baseline = ["constant_velocity", "ballistic"]
        .iter()
        .filter_map(|b| baselines[b]["mse_20"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let best_one_step = ["persistence", "constant_velocity", "ballistic"]
        .iter()
        .filter_map(|b| baselines[b]["mse_1"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let mse20 = metrics["mse_20"].as_f64().unwrap_or(f64::NAN);
    let mse1 = metrics["mse_1"].as_f64().unwrap_or(f64::NAN);
    let escaped = metrics["escaped_fraction"].as_f64().unwrap_or(f64::NAN);
    let thresholds = ParticleBars::of(case);
    // The bars judge the model's own rollout; the same rollout with positions clamped to the
    // box (as the solver and the ballistic baseline clamp) is reported beside them.
    let clamped = evaluate_clamped(trainer, dataset, 2)?;
    for name in ["mse_1", "mse_20", "mse_full", "escaped_fraction"] {
        metrics[format!("{name}_clamped")] = json!(clamped.metrics.get(name));
    }
    // Share of training windows with over 10 % of their particles in contact, and of draws.
    let share = trainer.contact_share(&dataset.splits[0]);
    metrics["contact_window_share"] = json!(share.uniform);
    metrics["contact_window_share_drawn"] = json!(share.weighted);
    // Likewise for impact windows (over 10 % of the particles far off free fall).
    let impacts = trainer.window_share(&dataset.splits[0], learnsim_train::WindowCriterion::Impact);
    metrics["impact_window_share"] = json!(impacts.uniform);
    metrics["impact_window_share_drawn"] = json!(impacts.weighted);
    let bars = vec![
        bar(
            "mse_20 / best baseline mse_20",
            mse20 / better_baseline,
            thresholds.mse_20_ratio,
            true,
        ),
        bar("escaped_fraction", escaped, thresholds.escaped, true),
        bar(
            "mse_1 / best baseline mse_1",
            mse1 / best_one_step,
            0.1,
            true,
        ),
    ];
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
    let pass = finished && bars.iter().all(|b| b["pass"].as_bool() == Some(true));
    let report = json!({
        "case": case.name(),
        "model": "gns",
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
        "{}: mse_20 {mse20:.3e} (best baseline {better_baseline:.3e}), valid loss {first_loss:.3} -> {last_loss:.4}, pass = {pass}; wrote {} and report.md; recorded in {}",
        case.name(),
        path.display(),
        db.display()
    ))
}

/// What `learnsim render` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RenderFormat {
    /// `rollout.gif`: ground truth | prediction.
    Gif,
    /// `vtk/truth.pvd`, `vtk/prediction.pvd` and their `.vtu` frames.
    Vtk,
    /// `rollout_0.pkl` in DeepMind's layout, for their `render_rollout.py` and geoelements'
    /// renderer.
    Pickle,
    /// All three.
    All,
}

/// Rolls the model out over test trajectory 0 from its first frames and renders it with the
/// ground truth into `out`.
pub fn render_run(
    out: &Path,
    trainer: &Trainer,
    dataset: &Dataset,
    format: RenderFormat,
) -> Result<()> {
    let truth = dataset.splits[2]
        .first()
        .context("the test split is empty: nothing to render")?;
    let model = trainer.inference_model().valid();
    let mut stepper = LearnedStepper::new(&trainer.simulator, &model);
    let rolled = rollout(&mut stepper, truth).context("the learned simulator's rollout failed")?;
    let predicted = rolled.predicted;
    if matches!(format, RenderFormat::Pickle | RenderFormat::All) {
        let split = rolled.warmup * truth.n_particles * truth.dim;
        let types: Vec<i64> = truth
            .kind
            .iter()
            .map(|k| {
                k.id(learnsim_core::TypeConvention::Deepmind)
                    .expect("every kind has a DeepMind id")
            })
            .collect();
        learnsim_data::write_rollout_pickle(
            &out.join("rollout_0.pkl"),
            &learnsim_data::RolloutExport {
                dim: truth.dim,
                n_particles: truth.n_particles,
                initial_positions: &truth.position[..split],
                predicted: &predicted.position[split..],
                ground_truth: &truth.position[split..],
                particle_types: &types,
                metadata: &dataset.metadata,
            },
        )?;
    }
    if matches!(format, RenderFormat::Gif | RenderFormat::All) {
        render::gif(
            &out.join("rollout.gif"),
            truth,
            &predicted,
            &dataset.metadata,
            100,
        )?;
    }
    if matches!(format, RenderFormat::Vtk | RenderFormat::All) {
        let dir = out.join("vtk");
        render::vtk(&dir, "truth", truth, &dataset.metadata)?;
        render::vtk(&dir, "prediction", &predicted, &dataset.metadata)?;
    }
    Ok(())
}

/// Loads a run folder's config and checkpoint, and its dataset (`data`, else `RUN/data`).
fn load_run(run: &Path, data: Option<&Path>) -> Result<(Trainer, Dataset)> {
    let data_dir = data.map_or_else(|| run.join("data"), Path::to_path_buf);
    let dataset = load_dataset(&data_dir)?;
    let config = read_config(&run.join("config.toml"))?;
    let mut trainer = Trainer::new(config, &dataset.metadata, default_training_device());
    trainer
        .load_checkpoint(&run.join("checkpoint"))
        .with_context(|| format!("no trained model in {}", run.display()))?;
    Ok((trainer, dataset))
}

/// Refuses a run of a case that `eval` and `render` cannot take (the object and grid cases
/// score and render inside `learnsim run`).
fn particle_run(dir: &Path, record: &run_folder::RunRecord) -> Result<()> {
    if learnsim_sim::Case::from_name(&record.identity.case).is_none() {
        bail!(
            "{} is a {} run: `eval` and `render` take the particle cases' runs only; `learnsim run {}` scores and renders it",
            dir.display(),
            record.identity.case,
            record.identity.case
        );
    }
    Ok(())
}

/// Arguments of `learnsim eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run folder holding config.toml and checkpoint/.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset folder [default: RUN/data].
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// `learnsim eval`: re-evaluates a finished run (metrics.json, report, figures, leaderboard).
pub fn eval_command(args: &EvalArgs) -> Result<String> {
    // The tier and the state come from the run's own record, the training time from its
    // checkpoint (summed over every segment).
    let record = run_folder::require(&args.run)?;
    particle_run(&args.run, &record)?;
    let (trainer, dataset) = load_run(&args.run, args.data.as_deref())?;
    let train_s = trainer.state.seconds;
    finish(
        &args.run,
        &trainer,
        &dataset,
        &record.identity.tier,
        train_s,
    )
}

/// Arguments of `learnsim render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Run folder holding config.toml and checkpoint/.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset folder [default: RUN/data].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = RenderFormat::All)]
    pub format: RenderFormat,
}

/// `learnsim render`.
pub fn render_command(args: &RenderArgs) -> Result<String> {
    particle_run(&args.run, &run_folder::require(&args.run)?)?;
    let (trainer, dataset) = load_run(&args.run, args.data.as_deref())?;
    render_run(&args.run, &trainer, &dataset, args.format)?;
    Ok(format!(
        "rendered test trajectory 0 into {}",
        args.run.display()
    ))
}

/// One pass/fail bar; `at_most` means value ≤ threshold passes, else value ≥ threshold.
pub fn bar(name: &str, value: f64, threshold: f64, at_most: bool) -> Value {
    let pass = if at_most {
        value <= threshold
    } else {
        value >= threshold
    };
    json!({
        "name": name, "value": value, "threshold": threshold, "at_most": at_most,
        "pass": pass && value.is_finite()
    })
}
