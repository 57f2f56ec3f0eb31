//! `learnsim train`, `learnsim rollout` and `learnsim run`: the GNS pipeline end to end.

use crate::generate::{self, GenerateArgs};
use crate::{TierArg, find_case};
use anyhow::{Context, Result, bail};
use burn::module::Module;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use learnsim_core::{Metadata, Trajectory};
use learnsim_data::{Dataset, load_dataset};
use learnsim_eval::{
    Ballistic, ConstantVelocity, FrameStepper, LearnedStepper, escaped_fraction, mse_at_horizons,
    rollout,
};
use learnsim_models::{default_inference_device, default_training_device};
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
pub fn train(dataset: &Dataset, config: TrainConfig, out: &Path) -> Result<(Trainer, f64)> {
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
        }
        if step.is_multiple_of(config.checkpoint_every.max(1)) || step == config.steps {
            trainer.save_checkpoint(&checkpoint)?;
        }
    }
    bar.finish_and_clear();
    Ok((trainer, start.elapsed().as_secs_f64()))
}

fn metric_map(
    predicted: &Trajectory,
    truth: &Trajectory,
    warmup: usize,
    metadata: &Metadata,
) -> serde_json::Map<String, Value> {
    let period: Vec<Option<f64>> = metadata
        .bounds
        .iter()
        .zip(&metadata.periodic_boundary_conditions)
        .map(|([lo, hi], &p)| p.then_some(hi - lo))
        .collect();
    let mut map = serde_json::Map::new();
    for (h, mse) in mse_at_horizons(predicted, truth, warmup, &period) {
        let key = if h == usize::MAX {
            "mse_full".to_string()
        } else {
            format!("mse_{h}")
        };
        map.insert(key, json!(mse));
    }
    map.insert(
        "escaped_fraction".into(),
        json!(escaped_fraction(
            predicted,
            &metadata.bounds,
            &metadata.periodic_boundary_conditions,
            0.01
        )),
    );
    map
}

/// Mean of each metric over test trajectories.
fn mean_maps(maps: &[serde_json::Map<String, Value>]) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(first) = maps.first() {
        for key in first.keys() {
            let values: Vec<f64> = maps
                .iter()
                .filter_map(|m| m.get(key).and_then(Value::as_f64))
                .collect();
            out.insert(
                key.clone(),
                json!(values.iter().sum::<f64>() / values.len().max(1) as f64),
            );
        }
    }
    Value::Object(out)
}

/// Rolls the model and the baselines out over every trajectory of split `split` (0 train,
/// 1 valid, 2 test); returns the model's mean metrics, the baselines' and rollout frames/s.
pub fn evaluate(trainer: &Trainer, dataset: &Dataset, split: usize) -> Result<(Value, Value, f64)> {
    let device = default_inference_device();
    let model = trainer.model.valid();
    let metadata = &dataset.metadata;
    let mut stepper = LearnedStepper {
        simulator: &trainer.simulator,
        model: &model,
        device,
    };
    let warmup = stepper.warmup();
    let mut learned = Vec::new();
    let mut cv = Vec::new();
    let mut ballistic_maps = Vec::new();
    let mut predicted_frames = 0usize;
    let mut seconds = 0.0;
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
    for truth in &dataset.splits[split] {
        let r =
            rollout(&mut stepper, truth).with_context(|| "learned rollout failed".to_string())?;
        predicted_frames += truth.n_frames - warmup;
        seconds += r.seconds;
        learned.push(metric_map(&r.predicted, truth, warmup, metadata));
        // Baselines are scored on the same frames as the model (after its warm-up).
        let c = rollout(&mut ConstantVelocity, truth)?;
        cv.push(metric_map(&c.predicted, truth, warmup, metadata));
        let b = rollout(&mut ballistic, truth)?;
        ballistic_maps.push(metric_map(&b.predicted, truth, warmup, metadata));
    }
    let baselines =
        json!({ "constant_velocity": mean_maps(&cv), "ballistic": mean_maps(&ballistic_maps) });
    Ok((
        mean_maps(&learned),
        baselines,
        predicted_frames as f64 / seconds.max(1e-9),
    ))
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
    let dataset = load_dataset(&args.data)?;
    let config = read_config(&args.run.join("config.toml"))?;
    let mut trainer = Trainer::new(config, &dataset.metadata, default_training_device());
    let checkpoint = args.run.join("checkpoint");
    trainer
        .load_checkpoint(&checkpoint)
        .with_context(|| format!("no trained model in {}", args.run.display()))?;
    let split = learnsim_data::SPLITS
        .iter()
        .position(|s| *s == args.split)
        .unwrap_or(2);
    let (metrics, baselines, fps) = evaluate(&trainer, &dataset, split)?;
    let report = json!({ "split": args.split, "metrics": metrics, "baselines": baselines, "rollout_steps_per_s": fps });
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
    let (trainer, train_s) = train(&dataset, config.clone(), &out)?;
    let first_loss = trainer
        .state
        .train_loss
        .first()
        .map_or(f32::NAN, |p| p.loss) as f64;
    let window = trainer.state.train_loss.len().clamp(1, 20);
    let last_loss = trainer
        .state
        .train_loss
        .iter()
        .rev()
        .take(window)
        .map(|p| p.loss as f64)
        .sum::<f64>()
        / window as f64;
    let (mut metrics, baselines, rollout_fps) = evaluate(&trainer, &dataset, 2)?;
    metrics["train_loss_first"] = json!(first_loss);
    metrics["train_loss_last"] = json!(last_loss);

    // Ground-truth speed, same machine, same run: one test-length trajectory.
    let frames = dataset.splits[2].first().map_or(10, |t| t.n_frames);
    let gt_start = Instant::now();
    case.simulate(args.tier.into(), 12345, frames, &|| {})?;
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
            "first / last train loss",
            first_loss / last_loss,
            10.0,
            false,
        ),
    ];
    let pass = bars.iter().all(|b| b["pass"].as_bool() == Some(true));
    let report = json!({
        "case": case.name(),
        "model": "gns",
        "tier": if args.quick { "quick" } else { match args.tier { TierArg::Cpu => "cpu", TierArg::Paper => "paper" } },
        "seed": config.seed,
        "metrics": metrics,
        "baselines": baselines,
        "bars": bars,
        "pass": pass,
        "timing": {
            "train_s": train_s,
            "rollout_steps_per_s": rollout_fps,
            "ground_truth_steps_per_s": gt_fps,
        },
    });
    let path = out.join("metrics.json");
    let tmp = out.join(".metrics.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&report)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(format!(
        "{}: mse_20 {mse20:.3e} (best baseline {better_baseline:.3e}), loss {first_loss:.3} -> {last_loss:.4}, pass = {pass}; wrote {}",
        case.name(),
        path.display()
    ))
}

/// One pass/fail bar; `at_most` means value ≤ threshold passes, else value ≥ threshold.
fn bar(name: &str, value: f64, threshold: f64, at_most: bool) -> Value {
    let pass = if at_most {
        value <= threshold
    } else {
        value >= threshold
    };
    json!({ "name": name, "value": value, "threshold": threshold, "pass": pass && value.is_finite() })
}
