//! `learnsim train`: a GNS on a dataset, resumed from the run folder's checkpoint.

use crate::leaderboard;
use crate::run_folder::{self, Restart, RunIdentity};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::ProgressStyle;
use learnsim_data::{Dataset, load_dataset, write_bytes_atomically};
use learnsim_models::default_training_device;
use learnsim_train::{TrainConfig, Trainer, Validate};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// The config's `seed` instead of the file's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Change one config field (`--set steps=2000`); repeatable, validated like the file.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Stop after this step with a checkpoint, as if the job's time ran out (a batch job with a
    /// wall-clock limit); the same command without it continues the run.
    #[arg(long, value_name = "STEP")]
    pub until_step: Option<usize>,
}

/// Reads a TOML training config and checks every field, naming the file in any error. Its
/// `[tiers]` tables, if any, are left out: `learnsim train` trains the file as written.
pub fn read_config(path: &Path) -> Result<TrainConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (config, _tiers) = learnsim_train::tiers::parse_config::<TrainConfig>(&text)
        .with_context(|| format!("{}: not a valid training config", path.display()))?;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(config)
}

/// Refuses, before any work, a batch that the ranks of a data-parallel job cannot share
/// equally (`origin`: where the config came from).
pub(super) fn check_ranks(config: &TrainConfig, origin: &impl std::fmt::Display) -> Result<()> {
    let ranks = learnsim_train::distributed::world().size();
    learnsim_train::distributed::share(config.batch_size, 0, ranks)
        .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
    Ok(())
}

/// The identity of a GNS run on `dataset` with `config`.
pub(super) fn identity(
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

/// Trains (resuming from `out/checkpoint` if present) up to the config's steps, or to step
/// `until` if that comes first, and returns the trainer and the seconds of training over every
/// segment of the run. `out` must have been claimed ([`run_folder::claim`]).
///
/// Data-parallel (under `mpirun`), every rank calls it: rank 0 writes the folder, validates and
/// checkpoints; at every checkpoint the ranks check they hold identical weights.
pub fn train(
    dataset: &Dataset,
    config: TrainConfig,
    out: &Path,
    until: Option<usize>,
) -> Result<(Trainer, f64)> {
    for (k, name) in ["train", "valid"].iter().enumerate() {
        if dataset.splits[k].is_empty() {
            anyhow::bail!(
                "the dataset has no {name} trajectories (DeepMind and geoelements datasets often ship without a valid split); training needs both train and valid"
            );
        }
    }
    // Data-parallel (`mpirun`): rank 0 writes the run folder, every rank reads it.
    let world = learnsim_train::distributed::world();
    let root = world.rank() == 0;
    if root {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        write_bytes_atomically(
            &out.join("config.toml"),
            toml::to_string(&config)?.as_bytes(),
        )
        .context("cannot save the resolved config")?;
    }
    // Rank 0 has claimed the folder (and removed another run under --restart) before any rank
    // reads a checkpoint from it.
    world.barrier();
    let mut trainer = Trainer::new(config.clone(), &dataset.metadata, default_training_device());
    let checkpoint = out.join("checkpoint");
    if checkpoint.join("state.json").exists() {
        trainer.load_checkpoint(&checkpoint)?;
    }
    let bar = crate::progress::bar(config.steps as u64).with_style(
        ProgressStyle::with_template(
            "train [{elapsed_precise}] {wide_bar} {pos}/{len} steps ({per_sec}, ETA {eta}) {msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(trainer.state.step as u64);
    let mut segment = Instant::now();
    let (train, valid) = (&dataset.splits[0], &dataset.splits[1]);
    if root && trainer.state.step == 0 && trainer.state.valid_loss.is_empty() {
        // The untrained model's validation loss, reported beside the trained one.
        let v = trainer.evaluate(valid)?;
        trainer
            .state
            .valid_loss
            .push(learnsim_train::LossPoint { step: 0, loss: v });
    }
    let last = until.map_or(config.steps, |u| u.min(config.steps));
    while trainer.state.step < last {
        let loss = match trainer.train_step(train) {
            Ok(loss) => loss,
            Err(learnsim_train::TrainError::Diverged { step, loss }) => {
                bar.finish_and_clear();
                let divergence = crate::runner::Divergence::Training { step, loss };
                let model = trainer.config.model.name();
                return Err(crate::runner::record_divergence(out, model, &divergence));
            }
            Err(e) => return Err(e.into()),
        };
        let step = trainer.state.step;
        let seconds = trainer.state.seconds + segment.elapsed().as_secs_f64();
        trainer.state.log.push(learnsim_train::train_log::LogRow {
            step,
            lr: config.learning_rate(step - 1),
            seconds,
        });
        bar.set_message(format!("loss {loss:.4}"));
        bar.inc(1);
        if root && (step.is_multiple_of(config.validate_every.max(1)) || step == config.steps) {
            let v = trainer.evaluate(valid)?;
            trainer
                .state
                .valid_loss
                .push(learnsim_train::LossPoint { step, loss: v });
            if crate::progress::step_lines(&bar) {
                // No terminal (a log file, CI), or -v: one line per validation.
                let rate = bar.per_sec();
                crate::progress::step_line(
                    &bar,
                    &format!(
                        "step {step}/{}: train loss {loss:.4}, valid loss {v:.4}, {rate:.2} steps/s",
                        config.steps
                    ),
                );
            }
        }
        if step.is_multiple_of(config.checkpoint_every.max(1)) || step == last {
            trainer.state.seconds += segment.elapsed().as_secs_f64();
            segment = Instant::now();
            if world.size() > 1 {
                trainer.check_replicas()?;
            }
            if root {
                trainer.save_checkpoint(&checkpoint)?;
            }
        }
    }
    bar.finish_and_clear();
    let seconds = trainer.state.seconds;
    Ok((trainer, seconds))
}

/// `learnsim train`.
pub fn train_command(args: &TrainArgs) -> Result<String> {
    let overrides = crate::configs::Overrides {
        seed: args.seed,
        set: args.set.clone(),
    };
    let loaded = crate::configs::load::<TrainConfig>(Some(&args.config), "train", &overrides)?;
    let config = loaded.config;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.origin))?;
    check_ranks(&config, &loaded.origin)?;
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
    if learnsim_train::distributed::is_root() {
        run_folder::claim(&args.out, &identity, restart)?;
    }
    let started = Instant::now();
    let (trainer, seconds) = train(&dataset, config, &args.out, args.until_step)?;
    let ranks = learnsim_train::distributed::world().size();
    let replicas = if ranks > 1 {
        // This process's training (validation and checkpoints included), as the all-reduce's.
        let segment = started.elapsed().as_secs_f64();
        format!(
            "; {ranks} ranks hold identical weights (checksum {:016x}); rank 0 spent {:.1} s of {segment:.1} s in the gradient all-reduce ({:.1} %)",
            trainer.check_replicas()?,
            trainer.communication_seconds(),
            100.0 * trainer.communication_seconds() / segment.max(1e-9)
        )
    } else {
        String::new()
    };
    Ok(format!(
        "trained {} steps in {seconds:.1} s ({} network, {} parameters); last loss {:.5}; checkpoint in {}{replicas}",
        trainer.state.step,
        trainer.config.model.name(),
        learnsim_train::model_parameters(&trainer.model)
            .iter()
            .map(Vec::len)
            .sum::<usize>(),
        trainer.state.train_loss.last().map_or(f32::NAN, |p| p.loss),
        args.out.join("checkpoint").display()
    ))
}
