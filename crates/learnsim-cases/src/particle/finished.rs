//! `learnsim eval` and `learnsim render`: a finished particle run scored and rendered again.

use super::pipeline::finish;
use super::train::read_config;
use crate::render;
use crate::run_folder::{self};
use anyhow::{Context, Result, bail};
use burn::module::Module;
use clap::Args;
use learnsim_data::{Dataset, load_dataset};
use learnsim_eval::{LearnedStepper, rollout};
use learnsim_models::default_training_device;
use learnsim_train::Trainer;
use std::path::{Path, PathBuf};

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
    /// `playback/test_K.lsp`: every test trajectory (up to 8) by the model and the moving
    /// baselines, for `learnsim view`.
    Playback,
    /// All four.
    All,
}

/// Rolls the model out over test trajectory 0 from its first frames and renders it with the
/// ground truth into `out`.
pub fn render_run(
    out: &Path,
    trainer: &Trainer,
    dataset: &Dataset,
    format: RenderFormat,
) -> Result<usize> {
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
    let mut playbacks = 0;
    if matches!(format, RenderFormat::Playback | RenderFormat::All) {
        playbacks = super::playback::write_all(out, trainer, dataset, Some(&predicted))?;
    }
    if matches!(format, RenderFormat::Vtk | RenderFormat::All) {
        let dir = out.join("vtk");
        render::vtk(&dir, "truth", truth, &dataset.metadata)?;
        render::vtk(&dir, "prediction", &predicted, &dataset.metadata)?;
    }
    Ok(playbacks)
}

/// Loads a run folder's config and checkpoint, and its dataset (`data`, else `RUN/data`).
pub(super) fn load_run(run: &Path, data: Option<&Path>) -> Result<(Trainer, Dataset)> {
    let data_dir = data.map_or_else(|| run.join("data"), Path::to_path_buf);
    let dataset = load_dataset(&data_dir)?;
    let config = read_config(&run.join("config.toml"))?;
    let mut trainer = Trainer::new(config, &dataset.metadata, default_training_device());
    trainer
        .load_checkpoint(&run.join("checkpoint"))
        .with_context(|| format!("no trained model in {}", run.display()))?;
    Ok((trainer, dataset))
}

/// Whether `dir` holds a particle case's run (the others are re-scored by their own pipeline,
/// [`crate::rescore`]).
fn is_particle_run(record: &run_folder::RunRecord) -> bool {
    learnsim_sim::Case::from_name(&record.identity.case).is_some()
}

/// Arguments of `learnsim eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run folder holding config.toml and checkpoint/.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset folder [default: RUN/data] (particle runs only).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// `learnsim eval`: re-evaluates a finished run (metrics.json, report, figures, leaderboard).
/// A run of another kind of case is re-scored by its own pipeline from its checkpoints.
pub fn eval_command(args: &EvalArgs) -> Result<String> {
    // The tier and the state come from the run's own record, the training time from its
    // checkpoint (summed over every segment).
    let record = run_folder::require(&args.run)?;
    if !is_particle_run(&record) {
        other_kind_takes_no_data(&record, args.data.as_deref())?;
        return crate::rescore(&args.run, &record);
    }
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
    /// Dataset folder [default: RUN/data] (particle runs only).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// What to write (particle runs; the other cases redraw all their figures).
    #[arg(long, value_enum, default_value_t = RenderFormat::All)]
    pub format: RenderFormat,
}

/// `learnsim render`: a particle run's GIF, VTK and pickle of test trajectory 0; a run of
/// another kind of case redraws its figures by re-scoring from its checkpoints.
pub fn render_command(args: &RenderArgs) -> Result<String> {
    let record = run_folder::require(&args.run)?;
    if !is_particle_run(&record) {
        other_kind_takes_no_data(&record, args.data.as_deref())?;
        if args.format != RenderFormat::All {
            bail!(
                "--format {:?} is for particle runs; {} is a {} run, whose figures are redrawn all together",
                args.format,
                args.run.display(),
                record.identity.case
            );
        }
        return crate::rescore(&args.run, &record);
    }
    let (trainer, dataset) = load_run(&args.run, args.data.as_deref())?;
    let playbacks = render_run(&args.run, &trainer, &dataset, args.format)?;
    if args.format == RenderFormat::Playback {
        return Ok(format!(
            "wrote the playback of {playbacks} test trajectories into {} for `learnsim view`",
            args.run.join(super::playback::DIR).display()
        ));
    }
    Ok(format!(
        "rendered test trajectory 0 into {}",
        args.run.display()
    ))
}

/// Refuses `--data` for a run whose case generates its data in memory.
fn other_kind_takes_no_data(record: &run_folder::RunRecord, data: Option<&Path>) -> Result<()> {
    if let Some(data) = data {
        bail!(
            "--data {} is for particle runs: {} regenerates its data from the run's seed",
            data.display(),
            record.identity.case
        );
    }
    Ok(())
}
