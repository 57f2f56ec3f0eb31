//! `learnsim train`, `learnsim rollout` and `learnsim run`: the GNS pipeline end to end.

use crate::generate::{self, GenerateArgs};
use crate::{TierArg, find_case, leaderboard, plots, render, report};
use anyhow::{Context, Result, bail};
use burn::module::Module;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use learnsim_data::{Dataset, load_dataset, write_bytes_atomically};
use learnsim_eval::{
    Ballistic, ConstantVelocity, FrameStepper, LearnedStepper, Persistence, Protocol, Scores,
    StageSeconds, rollout, score,
};
use learnsim_models::default_training_device;
use learnsim_train::{TrainConfig, Trainer};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `learnsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Case name (see `learnsim cases`).
    pub case: String,
    /// Run folder [default: runs/CASE].
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
    /// Run folder; an existing checkpoint there is resumed.
    #[arg(long)]
    pub out: PathBuf,
}

/// Reads a TOML training config, naming the file in any error.
pub fn read_config(path: &Path) -> Result<TrainConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{}: not a valid training config", path.display()))
}

/// Trains (resuming from `out/checkpoint` if present) and returns the trainer and seconds spent.
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
    std::fs::write(out.join("config.toml"), toml::to_string(&config)?)
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
    let start = Instant::now();
    let (train, valid) = (&dataset.splits[0], &dataset.splits[1]);
    if trainer.state.step == 0 && trainer.state.valid_loss.is_empty() {
        // The untrained model's validation loss: the reference of the "loss down 10×" bar.
        let v = trainer.evaluate(valid)?;
        trainer
            .state
            .valid_loss
            .push(learnsim_train::LossPoint { step: 0, loss: v });
    }
    while trainer.state.step < config.steps {
        let loss = trainer.train_step(train)?;
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
            trainer.save_checkpoint(&checkpoint)?;
        }
    }
    bar.finish_and_clear();
    Ok((trainer, start.elapsed().as_secs_f64()))
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
}

/// Rolls the model and the baselines out over every trajectory of split `split` (0 train,
/// 1 valid, 2 test) under [`Protocol::default`] with the model's context.
pub fn evaluate(trainer: &Trainer, dataset: &Dataset, split: usize) -> Result<Evaluation> {
    let model = trainer.model.valid();
    let metadata = &dataset.metadata;
    let mut stepper = LearnedStepper::new(&trainer.simulator, &model);
    let protocol = Protocol {
        context: stepper.warmup(),
        ..Protocol::default()
    };
    let truths = &dataset.splits[split];
    let progress = |name: &str| {
        let bar = ProgressBar::new_spinner();
        bar.set_message(format!(
            "evaluating {name} on {} trajectories",
            truths.len()
        ));
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    };
    let bar = progress("the model");
    let model_scores = score(&mut stepper, truths, metadata, &protocol)
        .context("the learned simulator's rollout failed")?;
    bar.finish_and_clear();
    let dt2 = metadata.dt * metadata.dt;
    let mut ballistic = Ballistic {
        gravity_dt2: metadata.gravity.iter().map(|g| g * dt2).collect(),
        walls: metadata
            .bounds
            .iter()
            .zip(&metadata.periodic_boundary_conditions)
            .map(|(b, &p)| (!p).then_some(*b))
            .collect(),
    };
    let bar = progress("the baselines");
    let baselines = vec![
        (
            "persistence",
            score(&mut Persistence, truths, metadata, &protocol)?,
        ),
        (
            "constant_velocity",
            score(&mut ConstantVelocity, truths, metadata, &protocol)?,
        ),
        (
            "ballistic",
            score(&mut ballistic, truths, metadata, &protocol)?,
        ),
    ];
    bar.finish_and_clear();
    Ok(Evaluation {
        model: model_scores,
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
    let report = json!({
        "split": args.split,
        "metrics": e.model.metrics,
        "baselines": e.baselines_json(),
        "rollout_steps_per_s": e.model.frames_per_s(),
    });
    Ok(serde_json::to_string_pretty(&report)?)
}

/// `learnsim train`.
pub fn train_command(args: &TrainArgs) -> Result<String> {
    let dataset = load_dataset(&args.data)?;
    let config = read_config(&args.config)?;
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
    let case = find_case(&args.case)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(case.name()));
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
        })?;
    }
    let dataset = load_dataset(&data_dir)?;
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
        config.lr_decay_steps = 60.0;
    }
    let (trainer, train_s) = train(&dataset, config, &out)?;
    let tier = if args.quick {
        "quick".to_string()
    } else {
        dataset.metadata.tier.clone()
    };
    finish(&out, &trainer, &dataset, &tier, train_s)
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
    let mse20 = metrics["mse_20"].as_f64().unwrap_or(f64::NAN);
    let escaped = metrics["escaped_fraction"].as_f64().unwrap_or(f64::NAN);
    let bars = vec![
        bar(
            "mse_20 / best baseline mse_20",
            mse20 / better_baseline,
            0.2,
            true,
        ),
        bar("escaped_fraction", escaped, 0.0, true),
        bar(
            "initial / final one-step validation loss",
            first_loss / last_loss,
            10.0,
            false,
        ),
    ];
    let pass = bars.iter().all(|b| b["pass"].as_bool() == Some(true));
    let report = json!({
        "case": case.name(),
        "model": "gns",
        "tier": tier,
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
    let model = trainer.model.valid();
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
    let (trainer, dataset) = load_run(&args.run, args.data.as_deref())?;
    // Keep what only the original run knew: its training time and its tier label.
    let previous: Option<Value> = std::fs::read_to_string(args.run.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let train_s = previous
        .as_ref()
        .and_then(|p| p["timing"]["train_s"].as_f64())
        .unwrap_or(f64::NAN);
    let tier = previous
        .as_ref()
        .and_then(|p| p["tier"].as_str().map(str::to_string))
        .unwrap_or_else(|| dataset.metadata.tier.clone());
    finish(&args.run, &trainer, &dataset, &tier, train_s)
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
    json!({ "name": name, "value": value, "threshold": threshold, "pass": pass && value.is_finite() })
}
