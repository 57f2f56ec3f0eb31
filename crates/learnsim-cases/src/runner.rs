//! What the object cases (`nbody-2d`, `spring-chain`) share: config and run folder, seeded
//! generation of the four trajectory sets with a progress bar, training progress, the metric
//! names of rollout scores, and writing metrics.json, report.md, plots and the leaderboard row.

use crate::bars::{Bar, all_pass};
use crate::configs::{self, Overrides};
use crate::particle::generate::GenerateArgs;
use crate::particle::leaderboard_of;
use crate::request::RunArgs;
use crate::run_folder::{self, RunIdentity, RunState};
use crate::{TierArg, leaderboard, plots, report};
use anyhow::{Context, Result, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use learnsim_data::write_bytes_atomically;
use learnsim_eval::object_dynamics::RolloutScores;
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::object_dynamics::ObjectTrainConfig;
use learnsim_train::tiers::Tier;
use learnsim_train::{LossPoint, Validate};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// A prepared run: its folder, its resolved config and that config as saved.
#[derive(Debug)]
pub struct Setup<C = ObjectTrainConfig> {
    /// Run folder.
    pub out: PathBuf,
    /// Resolved config (file, then `--quick` / `--tier paper` overrides).
    pub config: C,
    /// The resolved config as TOML (saved as RUN/config.toml; hashed by the leaderboard).
    pub config_text: String,
    /// `quick`, `cpu` or `paper`.
    pub tier: &'static str,
    /// The config's `seed`.
    pub seed: Option<u64>,
}

/// Reads `--config` (default `configs/NAME.toml`), applies the tier's table (`[tiers.quick]`,
/// `[tiers.paper]`), creates the run folder ([`RunArgs::out_dir`]) and saves the resolved config
/// there. The file's config is validated before the tier's changes and the resolved config
/// after them, before the folder is claimed.
pub fn setup_validated<C: serde::de::DeserializeOwned + serde::Serialize + Validate>(
    args: &RunArgs,
    name: &str,
) -> Result<Setup<C>> {
    let out = args.out_dir(name);
    let Resolved { config, tier, .. } = resolve_config(args.into(), name)?;
    let config_text = toml::to_string(&config)?;
    // Claim the folder before anything is written: another run there is refused whole.
    let seed = toml::from_str::<toml::Value>(&config_text)
        .ok()
        .and_then(|v| v.get("seed")?.as_integer())
        .and_then(|s| u64::try_from(s).ok());
    // Data-parallel (`mpirun`, a case of `Ranks::Many`): rank 0 claims and writes; the others
    // wait for it, so that none reads the folder before it is claimed.
    let world = learnsim_train::distributed::world();
    if world.rank() == 0 {
        run_folder::claim(
            &out,
            &RunIdentity {
                case: name.to_string(),
                tier: tier.to_string(),
                seed,
                config_hash: leaderboard::config_hash(&config_text),
                dataset_hash: "none".into(),
            },
            args.restart(),
        )?;
        write_bytes_atomically(&out.join("config.toml"), config_text.as_bytes())?;
    }
    world.barrier();
    Ok(Setup {
        out,
        config,
        config_text,
        tier,
        seed,
    })
}

/// Where a case's config comes from: `--config` (default `configs/NAME.toml`, else the shipped
/// one: [`configs::load`]), the command line's overrides and the tier.
#[derive(Debug, Clone)]
pub struct ConfigSource<'a> {
    /// `--config`.
    pub config: Option<&'a Path>,
    /// `--seed` and `--set`.
    pub overrides: Overrides,
    /// `--tier`.
    pub tier: TierArg,
    /// `--quick`.
    pub quick: bool,
    /// The config is a run's saved, resolved one: the tier's table is not applied again.
    pub resolved: bool,
}

impl<'a> From<&'a RunArgs> for ConfigSource<'a> {
    fn from(args: &'a RunArgs) -> Self {
        Self {
            config: args.config.as_deref(),
            overrides: args.overrides(),
            tier: args.tier,
            quick: args.quick,
            resolved: args.resolved,
        }
    }
}

/// A case's config as a run or `learnsim generate` uses it.
#[derive(Debug)]
pub struct Resolved<C> {
    /// The config at its tier, validated.
    pub config: C,
    /// `quick`, `cpu` or `paper`.
    pub tier: &'static str,
    /// Where the config came from, for messages.
    pub origin: String,
}

/// Reads a case's config (default `configs/NAME.toml`), validates it, applies the tier's
/// table and validates the result. What a run resolves before it claims its folder, and what
/// `learnsim generate` simulates.
pub fn resolve_config<C: serde::de::DeserializeOwned + serde::Serialize + Validate>(
    source: ConfigSource,
    name: &str,
) -> Result<Resolved<C>> {
    let loaded = configs::load::<C>(source.config, name, &source.overrides)?;
    let origin = loaded.origin.clone();
    loaded
        .config
        .validate()
        .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
    let table = if source.quick {
        Some(Tier::Quick)
    } else if matches!(source.tier, TierArg::Paper) {
        Some(Tier::Paper)
    } else {
        None
    };
    let tier = table.map_or("cpu", Tier::name);
    let config = match table {
        Some(table) if !source.resolved => loaded.at_tier(table, &source.overrides)?,
        _ => loaded.config,
    };
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("{origin} with the {tier} tier: {e}"))?;
    Ok(Resolved {
        config,
        tier,
        origin,
    })
}

/// `learnsim generate` for a case other than the particle scenes: its config resolved as its run
/// would resolve it (file, `--seed`, tier) and the folder its files go in (`--out`, default
/// `data/NAME`); the options that size a particle dataset are refused.
pub fn generate_setup<C: serde::de::DeserializeOwned + serde::Serialize + Validate>(
    args: &GenerateArgs,
    name: &str,
) -> Result<(C, &'static str, PathBuf)> {
    let particle_only = [
        (args.frames.is_some(), "--frames"),
        (args.trajectories.is_some(), "--trajectories"),
        (args.friction_angles.is_some(), "--friction-angles"),
        (args.scene.is_some(), "--scene"),
        (args.shard.is_some(), "--shard"),
    ];
    if let Some((_, option)) = particle_only.iter().find(|(given, _)| *given) {
        bail!("{option}: not an option of {name}, whose data the config's recipe sizes");
    }
    let source = ConfigSource {
        config: args.config.as_deref(),
        overrides: Overrides {
            seed: args.seed,
            set: Vec::new(),
        },
        tier: args.tier,
        quick: args.quick,
        resolved: false,
    };
    let Resolved { config, tier, .. } = resolve_config(source, name)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("data").join(name));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    Ok((config, tier, out))
}

/// The four sets (train, valid, test, generalisation), `trajectories[k]` each, in parallel
/// with a progress bar. `simulate(k, i, seed)` makes trajectory `i` of set `k`; seeds come
/// from `trajectory_seed`, the generalisation set from the test stream past its indices.
pub fn generate_sets<T: Send>(
    config: &ObjectTrainConfig,
    simulate: impl Fn(usize, usize, u64) -> Result<T> + Sync,
) -> Result<[Vec<T>; 4]> {
    let total: usize = config.trajectories.iter().sum();
    let bar = crate::progress::bar(total as u64).with_style(
        ProgressStyle::with_template(
            "simulate [{elapsed_precise}] {wide_bar} {pos}/{len} trajectories",
        )
        .expect("valid template"),
    );
    let mut sets = Vec::new();
    for (k, &count) in config.trajectories.iter().enumerate() {
        let (split, base) = match k {
            0 => (Split::Train, 0),
            1 => (Split::Valid, 0),
            2 => (Split::Test, 0),
            _ => (Split::Test, 1_000_000),
        };
        let set = (0..count)
            .into_par_iter()
            .map(|i| {
                let traj = simulate(k, i, trajectory_seed(config.seed, split, base + i));
                bar.inc(1);
                traj
            })
            .collect::<Result<Vec<T>>>()?;
        sets.push(set);
    }
    bar.finish_and_clear();
    Ok(sets
        .try_into()
        .unwrap_or_else(|_| unreachable!("four sets")))
}

/// A training progress bar and the callback that drives it; without a terminal it prints a
/// line every tenth of the run instead.
pub fn progress_bar(label: &'static str, steps: usize) -> (ProgressBar, impl FnMut(usize, f32)) {
    let bar = crate::progress::bar(steps as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{label} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} steps ({{per_sec}}, ETA {{eta}}) {{msg}}"
        ))
        .expect("valid template"),
    );
    let handle = bar.clone();
    let report_every = (steps / 10).max(1);
    let callback = move |step: usize, loss: f32| {
        handle.set_position(step as u64);
        handle.set_message(format!("loss {loss:.4}"));
        if crate::progress::step_lines(&handle)
            && (step.is_multiple_of(report_every) || step == steps)
        {
            crate::progress::step_line(
                &handle,
                &format!(
                    "{label} step {step}/{steps}: loss {loss:.4}, {:.1} steps/s",
                    handle.per_sec()
                ),
            );
        }
    };
    (bar, callback)
}

/// Says on stderr that `label`'s training resumes from the checkpoint in `dir` (or, for a
/// folder of several networks' checkpoints, in each of its subfolders), if one is there: a
/// killed run of the same identity continues where it stopped.
pub fn note_resume(label: &str, dir: &Path, steps: usize) {
    let mut folders = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subfolders: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subfolders.sort();
        folders.extend(subfolders);
    }
    for folder in folders {
        if let Some(step) = learnsim_train::saved_step(&folder) {
            crate::progress::note(format_args!(
                "{label}: resuming from step {step} of {steps} (checkpoint {})",
                folder.display()
            ));
        }
    }
}

/// Trains one network of a case behind a progress bar (its own, or one of `bars` when two
/// train side by side), checkpointing into `RUN/checkpoint/NAME`, where a rerun resumes it
/// (and says so); `train(checkpoint, progress)` is the case's trainer.
pub fn train_network<T>(
    out: &Path,
    (label, name): (&'static str, &str),
    steps: usize,
    bars: Option<&MultiProgress>,
    train: impl FnOnce(&Path, &mut dyn FnMut(usize, f32)) -> Result<T, learnsim_train::TrainError>,
) -> Result<T> {
    let checkpoint = out.join("checkpoint").join(name);
    note_resume(label, &checkpoint, steps);
    let (progress, mut callback) = progress_bar(label, steps);
    let progress = match bars {
        Some(bars) => bars.add(progress),
        None => progress,
    };
    let trained = train(&checkpoint, &mut callback);
    progress.finish_and_clear();
    recording_divergence(out, name, trained)
}

/// Data-parallel (`mpirun`): every rank trained the same weights and rank 0 alone scores and
/// writes the results. On any other rank, its one-line result after `steps` steps of training
/// (the run ends there); `None` on rank 0 and alone.
pub fn result_of_other_rank(steps: usize) -> Option<String> {
    let world = learnsim_train::distributed::world();
    (world.rank() != 0).then(|| {
        format!(
            "rank {} of {}: trained {steps} steps; rank 0 writes the results",
            world.rank(),
            world.size()
        )
    })
}

/// A training's result as the run's: a divergence of `network` is first recorded in `out`
/// ([`record_divergence`]); any other error passes through.
pub fn recording_divergence<T>(
    out: &Path,
    network: &str,
    trained: Result<T, learnsim_train::TrainError>,
) -> Result<T> {
    match trained {
        Err(learnsim_train::TrainError::Diverged { step, loss }) => {
            // Every rank of a data-parallel group diverges at the same step (the ranks share
            // the loss); rank 0 records it while the others wait, so that none ends the job
            // before the record is written.
            let world = learnsim_train::distributed::world();
            if world.rank() != 0 {
                world.barrier();
                return Err(learnsim_train::TrainError::Diverged { step, loss }.into());
            }
            let error = record_divergence(out, network, &Divergence::Training { step, loss });
            world.barrier();
            Err(error)
        }
        other => Ok(other?),
    }
}

/// Writes `RUN/train_log.csv` from every fit's log under `RUN/checkpoint` (each fit keeps its
/// own beside its weights), with the fit's folder there as the `network` column
/// (`interaction_network`, `pendulum/gn`, …); nothing when no fit logged.
pub fn gather_train_logs(out: &Path) -> Result<()> {
    fn walk(dir: &Path, root: &Path, found: &mut Vec<(String, String)>) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(&path, root, found)?;
            } else if path.file_name() == Some(std::ffi::OsStr::new(learnsim_train::TRAIN_LOG)) {
                let network = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                found.push((network, text));
            }
        }
        Ok(())
    }
    let root = out.join("checkpoint");
    let mut found = Vec::new();
    walk(&root, &root, &mut found)?;
    let logs: Vec<(String, Vec<String>)> = found
        .into_iter()
        .map(|(network, text)| (network, text.lines().skip(1).map(str::to_string).collect()))
        .collect();
    write_train_log(out, &logs)
}

/// Writes `RUN/train_log.csv`: `network,step,lr,train_loss,valid_loss,steps_per_s`, each
/// fit's rows under its name ([`learnsim_train::train_log`]); nothing when there are none.
pub fn write_train_log(out: &Path, logs: &[(String, Vec<String>)]) -> Result<()> {
    if logs.iter().all(|(_, rows)| rows.is_empty()) {
        return Ok(());
    }
    let mut text = format!("network,{}\n", learnsim_train::train_log::HEADER);
    for (network, rows) in logs {
        for row in rows {
            text.push_str(&format!("{network},{row}\n"));
        }
    }
    write_bytes_atomically(&out.join("train_log.csv"), text.as_bytes())?;
    Ok(())
}

/// How a run diverged.
#[derive(Debug, Clone, PartialEq)]
pub enum Divergence {
    /// A network's training loss became non-finite (or exploded) at this step.
    Training {
        /// The optimiser step.
        step: usize,
        /// The loss there.
        loss: f32,
    },
    /// A learned rollout became non-finite.
    Rollout {
        /// What the rollout engine said (step, frame, particle).
        what: String,
    },
}

/// Records a diverged run in its folder so that no reader takes it for an ordinary failure:
/// metrics.json with `"status": "diverged"`, what diverged and no scores; a report.md that says
/// DIVERGED; the leaderboard row (its pass column reads DIVERGED); run.json's state
/// `diverged`. Returns the error the command ends with, naming the files. A rerun of the same
/// run resumes from the last checkpoint and, being deterministic, diverges the same way.
pub fn record_divergence(out: &Path, network: &str, divergence: &Divergence) -> anyhow::Error {
    match write_divergence(out, network, divergence) {
        Ok(what) => anyhow::anyhow!(
            "{what}: the run diverged; recorded as DIVERGED in {} and report.md (lower the learning rate or check the data)",
            out.join("metrics.json").display()
        ),
        Err(e) => e.context(format!("{network} diverged, and recording it failed")),
    }
}

fn write_divergence(out: &Path, network: &str, divergence: &Divergence) -> Result<String> {
    let record =
        run_folder::read(out)?.with_context(|| format!("{} has no run.json", out.display()))?;
    let config_text = std::fs::read_to_string(out.join("config.toml")).unwrap_or_default();
    let (what, detail) = match divergence {
        Divergence::Training { step, loss } => (
            format!("{network}'s training loss was {loss:.3e} at step {step}"),
            json!({"network": network, "stage": "training", "step": step, "loss": f64::from(*loss)}),
        ),
        Divergence::Rollout { what } => (
            format!("{network}: {what}"),
            json!({"network": network, "stage": "rollout", "what": what}),
        ),
    };
    let identity = &record.identity;
    let report = json!({
        "case": identity.case,
        "model": network,
        "tier": identity.tier,
        "seed": identity.seed,
        "status": "diverged",
        "diverged": detail,
        "metrics": {},
        "baselines": {},
        "bars": [],
        "pass": false,
        "timing": {},
    });
    write_bytes_atomically(
        &out.join("metrics.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let markdown = format!(
        "# {} — DIVERGED\n\n**Verdict: DIVERGED.** {what}; nothing was scored. Tier {}, seed {}.\n",
        identity.case,
        identity.tier,
        identity.seed.map_or("–".to_string(), |s| s.to_string())
    );
    write_bytes_atomically(&out.join("report.md"), markdown.as_bytes())?;
    leaderboard::record(&leaderboard_of(out), out, &report, &config_text)?;
    run_folder::set_state(out, RunState::Diverged)?;
    Ok(what)
}

/// `one_step_dv_mse`, `mse_H` (positions), `vel_mse_H` (velocities) and `energy_drift`.
pub fn rollout_json(scores: &RolloutScores, one_step: f64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("one_step_dv_mse".into(), json!(one_step));
    for (h, v) in &scores.mse_by_horizon {
        m.insert(format!("mse_{h}"), json!(v));
    }
    for (h, v) in &scores.velocity_mse_by_horizon {
        m.insert(format!("vel_mse_{h}"), json!(v));
    }
    m.insert("energy_drift".into(), json!(scores.energy_drift));
    m
}

/// (first, last) validation loss.
pub fn loss_ends(valid: &[LossPoint]) -> (f64, f64) {
    let at = |p: Option<&LossPoint>| p.map_or(f64::NAN, |p| f64::from(p.loss));
    (at(valid.first()), at(valid.last()))
}

/// A case's loss curves and how `loss.png` labels them.
#[derive(Debug, Clone, Copy)]
pub struct Losses<'a> {
    /// The training loss, every step.
    pub train: &'a [LossPoint],
    /// The periodic check (validation loss or error).
    pub check: &'a [LossPoint],
    /// Caption and legends.
    pub figure: plots::LossFigure<'a>,
}

/// What a case's evaluation returns: its scores, bars, curves and what the report says. The
/// runner ([`finish`]) turns it into metrics.json (with the case, tier, seed and verdict),
/// loss.png, report.md and the leaderboard row.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// The judged model, as metrics.json and the leaderboard name it.
    pub model: &'a str,
    /// The judged model's scores (an object).
    pub metrics: Value,
    /// Each baseline's scores by name (an object).
    pub baselines: Value,
    /// What the case records beside the scores, under its key (`flow`, `universe`, `details`).
    pub context: Option<(&'static str, Value)>,
    /// The bars; the run passes when every one does.
    pub bars: Vec<Bar>,
    /// Seconds and rates (an object).
    pub timing: Value,
    /// The curves of the judged model's training.
    pub losses: Losses<'a>,
    /// The report's paragraph on how the scores were measured.
    pub notes: String,
    /// The case's own figures in the run folder, as (title, file).
    pub figures: Vec<(&'a str, &'a str)>,
}

impl Report<'_> {
    /// Whether every bar passed.
    pub fn pass(&self) -> bool {
        all_pass(&self.bars)
    }

    /// metrics.json's record of this report for `case` in `setup`'s run.
    fn json<C>(&self, case: &str, setup: &Setup<C>) -> Value {
        let mut record = json!({
            "case": case,
            "model": self.model,
            "tier": setup.tier,
            "seed": setup.seed,
            "metrics": self.metrics,
            "baselines": self.baselines,
            "bars": self.bars,
            "pass": self.pass(),
            "timing": self.timing,
        });
        if let Some((key, value)) = &self.context {
            record[*key] = value.clone();
        }
        record
    }
}

/// Writes a case's report into its run folder — metrics.json, loss.png, report.md with the
/// case's figures and the loss curves — records the leaderboard row, marks the run finished,
/// and returns `summary` with where they went.
pub fn finish<C>(
    setup: &Setup<C>,
    case: &str,
    report: &Report<'_>,
    summary: &str,
) -> Result<String> {
    let out = &setup.out;
    let record = report.json(case, setup);
    let path = out.join("metrics.json");
    write_bytes_atomically(&path, serde_json::to_string_pretty(&record)?.as_bytes())?;
    let curve = |points: &[LossPoint]| -> Vec<(usize, f32)> {
        points.iter().map(|p| (p.step, p.loss)).collect()
    };
    let losses = &report.losses;
    plots::loss_curves(
        &out.join("loss.png"),
        &curve(losses.train),
        &curve(losses.check),
        losses.figure,
    )?;
    let mut figures = report.figures.clone();
    figures.push(("loss curves", "loss.png"));
    write_bytes_atomically(
        &out.join("report.md"),
        report::markdown_with(&record, &report.notes, &figures).as_bytes(),
    )?;
    gather_train_logs(out)?;
    let db = leaderboard_of(out);
    leaderboard::record(&db, out, &record, &setup.config_text)?;
    run_folder::set_state(out, RunState::Finished)?;
    Ok(format!(
        "{summary}; wrote {} and report.md; recorded in {}",
        path.display(),
        db.display()
    ))
}
