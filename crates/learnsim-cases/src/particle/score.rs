//! `learnsim score`: rollouts made by any code (DeepMind's or LagrangeBench's pickles, a plain
//! array) judged under a particle case's protocol and bars, beside the baselines scored the
//! same way.
//!
//! Rollouts made elsewhere start from frame 0 only, so they are scored on the protocol's
//! window from frame 0 ([`Protocol::from_start`]) and the baselines with them: `mse_20` there
//! is the first 20 predicted frames of each test trajectory, not the mean over windows that
//! `learnsim run` reports, and the report says so. `mse_full`, `escaped_fraction` and the
//! other `_full` metrics are the same quantities as a run's.

use super::evaluate::score_with_bar;
use super::pipeline::{leaderboard_of, particle_bars};
use crate::run_folder::{self, Restart, RunIdentity, RunState};
use crate::{find_particle, leaderboard, plots, report};
use anyhow::{Context, Result, bail};
use clap::Args;
use learnsim_core::{Metadata, Trajectory};
use learnsim_data::{ForeignRollout, RolloutFormat, load_dataset, read_foreign_rollouts};
use learnsim_eval::{
    Ballistic, ConstantVelocity, Persistence, Protocol, Scores, score_predictions,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Input frames of the GNS (DeepMind's `INPUT_SEQUENCE_LENGTH`) and LagrangeBench's default
/// `input_seq_length`: the context of files that do not record theirs.
pub const DEFAULT_CONTEXT: usize = 6;

/// How far a frame the file says is ground truth may sit from the dataset's and still be the
/// same frame: a millionth of the domain's largest extent. Frames that went through float32
/// unchanged agree exactly; a code that stored them as float64 after arithmetic (a
/// normalisation undone) drifts by ~1e-7 relative; another dataset, split or order differs by
/// the motion of a frame, orders of magnitude more.
const SAME_FRAME: f64 = 1e-6;

/// Arguments of `learnsim score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Dataset folder the rollouts were made on (learnsim, DeepMind TFRecord, geoelements NPZ
    /// or LagrangeBench HDF5).
    #[arg(long)]
    pub data: PathBuf,
    /// Split the rollouts were made on.
    #[arg(long, value_parser = ["train", "valid", "test"], default_value = "test")]
    pub split: String,
    /// The rollouts, one per trajectory of the split in its order: a DeepMind or LagrangeBench
    /// `.pkl`, a folder of them, or an `.npz`/`.h5` holding `[trajectories, frames, particles,
    /// dim]`.
    #[arg(long)]
    pub rollouts: PathBuf,
    /// Case whose bars judge the rollouts [default: the dataset's case].
    #[arg(long)]
    pub case: Option<String>,
    /// The model's name in the report and the leaderboard.
    #[arg(long, default_value = "external")]
    pub model: String,
    /// Input frames the model was given, for files that do not record it (LagrangeBench's
    /// pickles, plain arrays) [default: 6].
    #[arg(long)]
    pub context: Option<usize>,
    /// Folder for metrics.json, report.md and error_vs_horizon.png [default:
    /// runs/score-CASE-MODEL]; the leaderboard row goes to its parent's leaderboard.sqlite.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace another scoring found in --out instead of refusing.
    #[arg(long)]
    pub restart: bool,
}

impl ScoreArgs {
    /// Where the scores are written.
    pub fn out_dir(&self, case: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(format!("score-{case}-{}", self.model)))
    }
}

/// FNV-1a 64 over bytes.
fn fnv(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// FNV-1a of every file the rollouts were read from, in name order.
fn rollouts_hash(path: &Path) -> Result<String> {
    let mut files = vec![path.to_path_buf()];
    if path.is_dir() {
        files = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "pkl"))
            .collect();
        files.sort();
    }
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for file in files {
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        hash = fnv(&bytes, hash);
    }
    Ok(format!("{hash:016x}"))
}

/// The largest |a − b| over two equally long frame slices.
fn max_difference(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .fold(0.0, f64::max)
}

/// The context every rollout was made with: the files' own where they say, else `--context`
/// or [`DEFAULT_CONTEXT`]; they must agree.
fn context_of(rollouts: &[ForeignRollout], requested: Option<usize>) -> Result<usize> {
    let mut context = requested;
    for r in rollouts {
        if let Some(c) = r.context {
            match context {
                Some(k) if k != c => bail!(
                    "{} starts from {c} input frames (its initial_positions), but {}",
                    r.source,
                    if requested.is_some() {
                        format!("--context says {k}")
                    } else {
                        format!("an earlier rollout from {k}")
                    }
                ),
                _ => context = Some(c),
            }
        }
    }
    let context = context.unwrap_or(DEFAULT_CONTEXT);
    if context < 2 {
        bail!(
            "--context {context}: the baselines read 2 frames, so a rollout is scored from a context of at least 2"
        );
    }
    Ok(context)
}

/// Checks `rollout` against `truth` (test trajectory `index`) and returns it as a trajectory
/// from frame 0: the context frames and the kinematic particles are the truth's (as in every
/// learnsim rollout), the rest the file's.
fn aligned(
    rollout: &ForeignRollout,
    truth: &Trajectory,
    index: usize,
    context: usize,
    metadata: &Metadata,
    split: &str,
) -> Result<Trajectory> {
    let source = &rollout.source;
    let name = format!("{split} trajectory {index:05}");
    if rollout.n_particles != truth.n_particles {
        bail!(
            "{source}: axis 1 (particles) holds {} particles; {name} has {}",
            rollout.n_particles,
            truth.n_particles
        );
    }
    if rollout.dim != truth.dim {
        bail!(
            "{source}: axis 2 (dimensions) holds {}; {name} is {}-D",
            rollout.dim,
            truth.dim
        );
    }
    let (t, per_frame) = (truth.n_frames, truth.n_particles * truth.dim);
    let from_zero = rollout.n_frames == t;
    let predictions_only = matches!(
        rollout.format,
        RolloutFormat::NumpyArray | RolloutFormat::Hdf5Array
    ) && rollout.n_frames + context == t;
    if !from_zero && !predictions_only {
        let alone = if matches!(
            rollout.format,
            RolloutFormat::NumpyArray | RolloutFormat::Hdf5Array
        ) {
            format!(
                ", or the {} predicted frames alone",
                t.saturating_sub(context)
            )
        } else {
            String::new()
        };
        bail!(
            "{source}: axis 0 (frames) holds {} frames; {name} has {t}: a rollout from frame 0 holds all {t} ({context} input frames and {} predictions){alone}",
            rollout.n_frames,
            t.saturating_sub(context)
        );
    }
    let extent = metadata
        .bounds
        .iter()
        .map(|[lo, hi]| hi - lo)
        .fold(0.0, f64::max)
        .max(1e-12);
    let tolerance = SAME_FRAME * extent;
    if let Some((first, frames)) = &rollout.ground_truth {
        let held = frames.len() / per_frame.max(1);
        let end = (first + held).min(t);
        let d = max_difference(
            &frames[..(end - first) * per_frame],
            &truth.position[first * per_frame..end * per_frame],
        );
        if held > t - first || d > tolerance {
            bail!(
                "{source}: its ground_truth_rollout is not {name} (frames {first}..{}: largest difference {d:.3e}, {} frames held): the rollouts belong to another dataset or split, or come in another order",
                first + held,
                held
            );
        }
    }
    if let Some((types, convention)) = &rollout.particle_types {
        if types.len() != truth.n_particles {
            bail!(
                "{source}: {} particle types for {} particles",
                types.len(),
                truth.n_particles
            );
        }
        if let Some(p) =
            (0..truth.n_particles).find(|&p| truth.kind[p].id(*convention) != Some(types[p]))
        {
            bail!(
                "{source}: particle {p} has type {} ({} ids); in {name} it is {:?} ({})",
                types[p],
                convention.name(),
                truth.kind[p],
                truth.kind[p]
                    .id(*convention)
                    .map_or("no id".into(), |i| i.to_string())
            );
        }
    }
    let mut position = truth.position[..context * per_frame].to_vec();
    if from_zero {
        let d = max_difference(
            &rollout.position[..context * per_frame],
            &truth.position[..context * per_frame],
        );
        if d > tolerance {
            bail!(
                "{source}: frames 0..{context} are the model's input and must be {name}'s, but differ by up to {d:.3e}: is the context {context} right (--context)?"
            );
        }
        position.extend_from_slice(&rollout.position[context * per_frame..]);
    } else {
        position.extend_from_slice(&rollout.position);
    }
    for frame in context..t {
        for p in (0..truth.n_particles).filter(|&p| truth.kind[p].is_kinematic()) {
            let at = frame * per_frame + p * truth.dim;
            position[at..at + truth.dim].copy_from_slice(&truth.position[at..at + truth.dim]);
        }
    }
    if let Some(k) = position.iter().position(|v| !v.is_finite()) {
        bail!(
            "{source}: a non-finite position (frame {}, particle {}): the rollout blew up",
            k / per_frame,
            (k % per_frame) / truth.dim
        );
    }
    Trajectory::new(truth.dim, t, position, truth.kind.clone())
        .map_err(|e| anyhow::anyhow!("{source}: {e}"))
}

/// Rollouts checked against their dataset, ready to be scored.
#[derive(Debug)]
pub struct Prepared<'a> {
    case: learnsim_sim::Case,
    split: usize,
    truths: &'a [Trajectory],
    metadata: &'a Metadata,
    /// Each rollout as a trajectory from frame 0 (context frames and kinematic particles the
    /// truth's).
    predicted: Vec<Trajectory>,
    context: usize,
    format: RolloutFormat,
    /// Set when the first scored frame is the truth itself in every rollout.
    warning: Option<String>,
}

/// Checks `rollouts` against split `split` of `dataset` and the case whose bars judge them
/// (`case`, else the dataset's): their number, every shape, type and ground-truth frame, and
/// the context (`context`, else the files', else [`DEFAULT_CONTEXT`]).
pub fn prepare<'a>(
    dataset: &'a learnsim_data::Dataset,
    split: &str,
    rollouts: &[ForeignRollout],
    case: Option<&str>,
    context: Option<usize>,
) -> Result<Prepared<'a>> {
    let metadata = &dataset.metadata;
    let case_name = case.unwrap_or(&metadata.case);
    let case = find_particle(case_name).with_context(|| {
        format!(
            "the dataset is a `{}` dataset; name the particle case whose bars judge it (--case)",
            metadata.case
        )
    })?;
    let index = learnsim_data::SPLITS
        .iter()
        .position(|s| *s == split)
        .with_context(|| format!("split `{split}`: allowed train, valid or test"))?;
    let truths = &dataset.splits[index];
    let source = rollouts
        .first()
        .map_or_else(|| "the rollouts".to_string(), |r| r.source.clone());
    if rollouts.len() != truths.len() {
        bail!(
            "{source}: {} rollouts given; the {split} split has {} trajectories: give one rollout per trajectory, in the split's order",
            rollouts.len(),
            truths.len()
        );
    }
    let context = context_of(rollouts, context)?;
    if let Some(short) = truths.iter().position(|t| t.n_frames <= context) {
        bail!(
            "{split} trajectory {short:05} has {} frames: nothing follows its {context} input frames",
            truths[short].n_frames
        );
    }
    let predicted = rollouts
        .iter()
        .zip(truths)
        .enumerate()
        .map(|(i, (r, truth))| aligned(r, truth, i, context, metadata, split))
        .collect::<Result<Vec<_>>>()?;
    // A model's prediction is never the truth to the bit, for every particle of every
    // trajectory; a file that holds more input frames than `context` says is.
    let first_scored_is_truth = predicted
        .iter()
        .zip(truths)
        .all(|(p, t)| p.frame(context) == t.frame(context));
    let warning = first_scored_is_truth.then(|| {
        format!(
            "frame {context}, the first scored frame, equals the ground truth exactly in every rollout: the model was probably given more than {context} input frames (pass --context)"
        )
    });
    Ok(Prepared {
        case,
        split: index,
        truths,
        metadata,
        predicted,
        context,
        format: rollouts[0].format,
        warning,
    })
}

impl Prepared<'_> {
    /// The case whose bars judge the rollouts.
    pub fn case(&self) -> learnsim_sim::Case {
        self.case
    }

    /// Input frames the rollouts start from.
    pub fn context(&self) -> usize {
        self.context
    }

    /// Why the scores may mislead, if they may.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }
}

/// The rollouts and the baselines scored on the window from frame 0 and judged by the case's
/// bars: metrics.json's `case`, `model`, `tier`, `seed`, `state`, `protocol`, `rollouts`
/// (`format`, `count`, `context`, `split`), `metrics`, `baselines`, `bars` and `pass`.
pub fn judge(prepared: &Prepared, model: &str) -> Result<Value> {
    let (metadata, truths) = (prepared.metadata, prepared.truths);
    let protocol = Protocol::from_start(prepared.context);
    let scores = score_predictions(&prepared.predicted, truths, metadata, &protocol);
    let mut ballistic = Ballistic {
        gravity_dt2: metadata.gravity_per_frame(),
        walls: metadata.walls(),
    };
    let names = ["persistence", "constant_velocity", "ballistic"];
    let baselines: Vec<Scores> = score_with_bar(
        &mut [&mut Persistence, &mut ConstantVelocity, &mut ballistic],
        &names,
        truths,
        metadata,
        &protocol,
    )?;
    let baselines = Value::Object(
        names
            .iter()
            .zip(&baselines)
            .map(|(n, s)| ((*n).to_string(), json!(s.metrics)))
            .collect(),
    );
    let metrics = json!(scores.metrics);
    let bars = particle_bars(prepared.case, &metrics, &baselines, metadata.dx);
    let pass = crate::bars::all_pass(&bars);
    Ok(json!({
        "case": prepared.case.name(),
        "model": model,
        "tier": metadata.tier,
        "seed": metadata.seed,
        "state": "scored from rollout files",
        "protocol": "from_start",
        "rollouts": {
            "format": prepared.format.name(),
            "count": prepared.predicted.len(),
            "context": prepared.context,
            "split": learnsim_data::SPLITS[prepared.split],
        },
        "metrics": metrics,
        "baselines": baselines,
        "bars": bars,
        "pass": pass,
        "warning": prepared.warning,
    }))
}

/// `learnsim score`: scores the rollouts and writes metrics.json, report.md,
/// error_vs_horizon.png and a leaderboard row; returns a one-line summary and the folder.
pub fn score_command(args: &ScoreArgs) -> Result<(String, PathBuf)> {
    let dataset = load_dataset(&args.data)?;
    let rollouts = read_foreign_rollouts(&args.rollouts)?;
    let prepared = prepare(
        &dataset,
        &args.split,
        &rollouts,
        args.case.as_deref(),
        args.context,
    )
    .with_context(|| {
        format!(
            "scoring {} on {}",
            args.rollouts.display(),
            args.data.display()
        )
    })?;
    let mut notes = String::new();
    if let Some(warning) = prepared.warning() {
        notes = format!("**Warning:** {warning}. ");
        crate::progress::warning(format_args!("{warning}"));
    }
    let (case, context) = (prepared.case(), prepared.context());
    // Claim the folder only once the rollouts are known to fit.
    let out = args.out_dir(case.name());
    let identity = RunIdentity {
        case: case.name().into(),
        tier: dataset.metadata.tier.clone(),
        seed: None,
        config_hash: leaderboard::config_hash(&format!(
            "score model={} split={} context={context} rollouts={}",
            args.model,
            args.split,
            rollouts_hash(&args.rollouts)?
        )),
        dataset_hash: run_folder::dataset_hash(&args.data).unwrap_or_else(|_| "none".into()),
    };
    let restart = if args.restart {
        Restart::Replace
    } else {
        Restart::Refuse
    };
    run_folder::claim(&out, &identity, restart)?;
    let mut report = judge(&prepared, &args.model)?;
    report["rollouts"]["path"] = json!(args.rollouts.display().to_string());
    report["rollouts"]["data"] = json!(args.data.display().to_string());
    let pass = report["pass"].as_bool() == Some(true);
    let path = out.join("metrics.json");
    learnsim_data::write_bytes_atomically(
        &path,
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let names = ["persistence", "constant_velocity", "ballistic"];
    let series: Vec<(&str, &Value)> = std::iter::once((args.model.as_str(), &report["metrics"]))
        .chain(names.iter().map(|b| (*b, &report["baselines"][b])))
        .collect();
    plots::error_vs_horizon(&out.join("error_vs_horizon.png"), &series, "mse")?;
    notes += &format!(
        "Rollouts read from `{}` ({}, {} of the {} split, {context} input frames). They start from frame 0 only, so every metric, the baselines' too, comes from the window from frame 0: `_H` averages the first H predicted frames of each trajectory. A `learnsim run` averages `_H` over windows starting every 40 frames, so its `mse_20` is not this one; `_full` and `escaped_fraction` are the same quantities.",
        args.rollouts.display(),
        report["rollouts"]["format"].as_str().unwrap_or("?"),
        rollouts.len(),
        args.split
    );
    learnsim_data::write_bytes_atomically(
        &out.join("report.md"),
        report::markdown_with(
            &report,
            &notes,
            &[("error against horizon", "error_vs_horizon.png")],
        )
        .as_bytes(),
    )?;
    let db = leaderboard_of(&out);
    leaderboard::record(&db, &out, &report, &identity.config_hash)?;
    run_folder::set_state(&out, RunState::Finished)?;
    let summary = format!(
        "{} on {}: mse_full {:.3e}, {} {:.3} (from frame 0), pass = {pass}; wrote {} and report.md; recorded in {}",
        args.model,
        case.name(),
        report["metrics"]["mse_full"].as_f64().unwrap_or(f64::NAN),
        report["bars"][0]["name"].as_str().unwrap_or("?"),
        report["bars"][0]["value"].as_f64().unwrap_or(f64::NAN),
        path.display(),
        db.display()
    );
    Ok((summary, out))
}
