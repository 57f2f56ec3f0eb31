//! The standard protocol over one split: the GNS and the baselines rolled out and scored
//! (`learnsim rollout`).

use super::finished::load_run;
use anyhow::{Result, bail};
use burn::module::Module;
use clap::Args;
use indicatif::ProgressStyle;
use learnsim_core::{Metadata, Trajectory};
use learnsim_data::Dataset;
use learnsim_eval::{
    Ballistic, ConstantVelocity, FrameStepper, LearnedStepper, Persistence, Protocol, Scores,
    StageSeconds, score_all,
};
use learnsim_train::Trainer;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Each stage's share of the learned rollouts' time (neighbour search, features, network,
/// decode), for metrics.json.
pub(super) fn stage_shares(s: &StageSeconds) -> Value {
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
pub(super) fn score_with_bar(
    steppers: &mut [&mut dyn FrameStepper],
    names: &[&str],
    truths: &[Trajectory],
    metadata: &Metadata,
    protocol: &Protocol,
) -> Result<Vec<Scores>> {
    let bar = crate::progress::bar(0);
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
