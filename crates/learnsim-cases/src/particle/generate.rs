//! `learnsim generate`: simulate every trajectory of a case and write the dataset.

use crate::{TierArg, default_out, find_particle};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::ProgressStyle;
use learnsim_core::{Metadata, ParticleKind, Trajectory};
use learnsim_data::{difference_stats, write_metadata, write_split};
use learnsim_sim::{Case, MaterialVariation, SceneVariation, Split, Tier, trajectory_seed};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `learnsim generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Case name (see `learnsim cases`).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::case_names()))]
    pub case: String,
    /// Output folder [default: data/CASE].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the whole dataset; trajectory seeds derive from it [default: 0; a case other than
    /// the particle scenes: its config's `seed`, which this replaces].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Problem size.
    #[arg(long, value_enum, default_value_t = TierArg::Cpu)]
    pub tier: TierArg,
    /// A case other than the particle scenes: the data of its `--quick` run.
    #[arg(long)]
    pub quick: bool,
    /// A case other than the particle scenes: the config whose recipe is simulated
    /// [default: configs/CASE.toml].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Frames per trajectory [default: the tier's].
    #[arg(long)]
    pub frames: Option<usize>,
    /// Trajectories per split as TRAIN,VALID,TEST [default: the tier's].
    #[arg(long, value_parser = parse_counts)]
    pub trajectories: Option<[usize; 3]>,
    /// Sand only: draw each trajectory's friction angle uniformly from LOW,HIGH degrees
    /// (10 to 60) and store tan φ per particle as `material_property`, as geoelements' sand
    /// datasets do [default: the recipe's fixed angle].
    #[arg(long, value_parser = parse_angles, value_name = "LOW,HIGH")]
    pub friction_angles: Option<(f64, f64)>,
    /// MPM cases only: the initial scene. `column-collapse` stands the blocks' particles as one
    /// column of aspect ratio 1 to 3 on the floor, at rest, as granular column-collapse
    /// experiments and geoelements' sand datasets do [default: the case's falling blocks].
    #[arg(long, value_enum)]
    pub scene: Option<SceneArg>,
    /// Particle cases: simulate only the trajectories t with t % N == I of every split, into
    /// `SPLIT.shard-I-of-N.h5` and `shard-I-of-N.json` in the output folder, for a job array;
    /// `learnsim merge OUT` then writes the dataset [default: the whole dataset].
    #[arg(long, value_name = "I/N")]
    pub shard: Option<super::shard::Shard>,
}

/// `--scene` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SceneArg {
    /// The case's own scene (falling blocks for the MPM cases).
    Recipe,
    /// One column collapsing from rest on the floor (MPM cases).
    ColumnCollapse,
}

impl From<SceneArg> for SceneVariation {
    fn from(arg: SceneArg) -> Self {
        match arg {
            SceneArg::Recipe => Self::Recipe,
            SceneArg::ColumnCollapse => Self::ColumnCollapse,
        }
    }
}

fn parse_angles(text: &str) -> Result<(f64, f64), String> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|e| format!("`{p}`: {e}")))
        .collect::<Result<_, _>>()?;
    let [low, high] = parts[..] else {
        return Err("expected two angles in degrees, LOW,HIGH".into());
    };
    let variation = MaterialVariation::FrictionAngle {
        low_deg: low,
        high_deg: high,
    };
    variation.validate().map_err(|e| e.to_string())?;
    Ok((low, high))
}

fn parse_counts(text: &str) -> Result<[usize; 3], String> {
    let parts: Vec<usize> = text
        .split(',')
        .map(|p| p.trim().parse::<usize>().map_err(|e| format!("`{p}`: {e}")))
        .collect::<Result<_, _>>()?;
    match parts[..] {
        [train, valid, test] if train > 0 && valid > 0 && test > 0 => Ok([train, valid, test]),
        _ => Err("expected three positive counts, TRAIN,VALID,TEST".into()),
    }
}

/// Upper limits that catch typos before they fill a disk: 10⁵ trajectories, 10⁵ frames.
const MAX_TRAJECTORIES: usize = 100_000;
const MAX_FRAMES: usize = 100_000;

/// Generates the dataset of a particle case and returns a one-paragraph summary; with
/// `--shard I/N`, only the trajectories `t % N == I` of each split, for `learnsim merge`.
pub fn run(args: &GenerateArgs) -> Result<String> {
    let case = find_particle(&args.case)?;
    if args.quick || args.config.is_some() {
        bail!(
            "--quick and --config are for the grid cases: a particle case's data is sized by --tier, --frames and --trajectories"
        );
    }
    let tier: Tier = args.tier.into();
    let plan = case.plan(tier);
    let n_frames = args.frames.unwrap_or(plan.n_frames);
    let counts = args.trajectories.unwrap_or(plan.n_trajectories);
    let scene: SceneVariation = args.scene.map_or(SceneVariation::Recipe, Into::into);
    let recipe = Recipe {
        case: case.name().to_owned(),
        tier: tier.name().to_owned(),
        seed: args.seed.unwrap_or(0),
        frames: n_frames,
        trajectories: counts,
        friction_angles: args.friction_angles,
        scene: (scene != SceneVariation::Recipe).then(|| scene.name().to_owned()),
    };
    recipe.validate()?;
    let out = args.out.clone().unwrap_or_else(|| default_out(case));
    if let Some(shard) = args.shard {
        return super::shard::write(&recipe, shard, &out);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let started = Instant::now();
    let all: Vec<Vec<usize>> = counts.iter().map(|&c| (0..c).collect()).collect();
    let splits = recipe.simulate(&all)?;
    for (split, trajectories) in Split::ALL.iter().zip(&splits) {
        let path = out.join(format!("{}.h5", split.name()));
        write_split(&path, trajectories, recipe.metadata_convention()?)?;
    }
    let metadata = recipe.metadata(&splits)?;
    write_metadata(&out.join("metadata.json"), &metadata)?;
    Ok(summary(
        case,
        &out,
        &metadata,
        started.elapsed().as_secs_f64(),
    ))
}

/// What a particle dataset is generated from: every choice that changes its bytes. A shard
/// records it so that `learnsim merge` joins only shards of one dataset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recipe {
    /// Case name.
    pub case: String,
    /// `cpu` or `paper`.
    pub tier: String,
    /// Dataset seed.
    pub seed: u64,
    /// Frames per trajectory.
    pub frames: usize,
    /// Trajectories per split.
    pub trajectories: [usize; 3],
    /// Friction angles drawn per trajectory, degrees.
    pub friction_angles: Option<(f64, f64)>,
    /// The scene when not the recipe's.
    pub scene: Option<String>,
}

impl Recipe {
    /// Every check a recipe must pass before anything is simulated or merged, whether it came
    /// from the command line or from a shard's manifest on disk.
    pub(crate) fn validate(&self) -> Result<()> {
        let (case, _, scene) = (self.case()?, self.tier()?, self.scene()?);
        let (n_frames, counts) = (self.frames, self.trajectories);
        if !(3..=MAX_FRAMES).contains(&n_frames) {
            bail!(
                "--frames {n_frames}: need 3..={MAX_FRAMES} (a velocity and an acceleration need three frames)"
            );
        }
        if counts.iter().sum::<usize>() > MAX_TRAJECTORIES {
            bail!("--trajectories {counts:?}: at most {MAX_TRAJECTORIES} in total");
        }
        if let Some((low_deg, high_deg)) = self.friction_angles {
            if case.mpm_config().map(|c| c.material.kind()) != Some(ParticleKind::Sand) {
                bail!(
                    "--friction-angles: {} has no friction angle to vary (sand cases only)",
                    case.name()
                );
            }
            MaterialVariation::FrictionAngle { low_deg, high_deg }
                .validate()
                .map_err(|e| anyhow::anyhow!("--friction-angles: {e}"))?;
        }
        if scene != SceneVariation::Recipe && case.mpm_config().is_none() {
            bail!(
                "--scene {}: {} is an SPH case with its own scene (the MPM cases take another)",
                scene.name(),
                case.name()
            );
        }
        Ok(())
    }

    fn case(&self) -> Result<Case> {
        find_particle(&self.case)
    }

    fn tier(&self) -> Result<Tier> {
        [Tier::Cpu, Tier::Paper]
            .into_iter()
            .find(|t| t.name() == self.tier)
            .ok_or_else(|| anyhow::anyhow!("tier `{}`: expected cpu or paper", self.tier))
    }

    /// The type-id convention the case's files use.
    pub(crate) fn metadata_convention(&self) -> Result<learnsim_core::TypeConvention> {
        Ok(self.case()?.info(self.tier()?).convention)
    }

    fn scene(&self) -> Result<SceneVariation> {
        match self.scene.as_deref() {
            None => Ok(SceneVariation::Recipe),
            Some(name) => [SceneVariation::Recipe, SceneVariation::ColumnCollapse]
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| anyhow::anyhow!("scene `{name}`: expected column-collapse")),
        }
    }

    /// Simulates trajectories `indices[k]` of split `k`, each from its own seed (so any subset
    /// is the same bytes as in the whole dataset), in parallel, with one progress bar.
    pub(crate) fn simulate(&self, indices: &[Vec<usize>]) -> Result<Vec<Vec<Trajectory>>> {
        let (case, tier, scene) = (self.case()?, self.tier()?, self.scene()?);
        let variation = match self.friction_angles {
            None => MaterialVariation::Recipe,
            Some((low_deg, high_deg)) => MaterialVariation::FrictionAngle { low_deg, high_deg },
        };
        let total_frames = indices.iter().map(Vec::len).sum::<usize>() as u64 * self.frames as u64;
        let bar = crate::progress::bar(total_frames).with_style(
            ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} frames ({per_sec}, ETA {eta})",
            )
            .expect("valid template"),
        );
        let mut splits: Vec<Vec<Trajectory>> = Vec::with_capacity(3);
        for (split, wanted) in Split::ALL.iter().zip(indices) {
            bar.set_message(format!("{} {}", case.name(), split.name()));
            // Trajectories are independent, each from its own seed: parallel and still
            // byte-for-byte reproducible.
            let trajectories: Vec<Trajectory> = wanted
                .par_iter()
                .map(|&index| {
                    case.simulate_with(
                        tier,
                        trajectory_seed(self.seed, *split, index),
                        self.frames,
                        variation,
                        scene,
                        &|| bar.inc(1),
                    )
                    .with_context(|| {
                        format!("{} trajectory {index} of {}", split.name(), case.name())
                    })
                })
                .collect::<Result<_>>()?;
            splits.push(trajectories);
        }
        bar.finish_and_clear();
        Ok(splits)
    }

    /// metadata.json of the whole dataset `splits` (statistics over the training split).
    pub(crate) fn metadata(&self, splits: &[Vec<Trajectory>]) -> Result<Metadata> {
        let (case, tier) = (self.case()?, self.tier()?);
        let info = case.info(tier);
        let period: Vec<Option<f64>> = info
            .bounds
            .iter()
            .zip(&info.periodic)
            .map(|([lo, hi], &p)| p.then_some(hi - lo))
            .collect();
        let stats = difference_stats(&splits[0], &period);
        let metadata = Metadata {
            dim: 2,
            bounds: info.bounds.clone(),
            dt: info.frame_dt,
            default_connectivity_radius: info.connectivity_radius,
            periodic_boundary_conditions: info.periodic.clone(),
            num_particles_max: splits
                .iter()
                .flatten()
                .map(|t| t.n_particles)
                .max()
                .unwrap_or(0),
            sequence_length_train: self.frames - 1,
            sequence_length_test: self.frames - 1,
            vel_mean: stats.vel_mean,
            vel_std: stats.vel_std,
            acc_mean: stats.acc_mean,
            acc_std: stats.acc_std,
            dx: info.dx,
            particle_type_convention: info.convention,
            gravity: info.gravity.clone(),
            case: case.name().into(),
            solver: info.solver.into(),
            tier: tier.name().into(),
            seed: self.seed,
            num_trajectories: self.trajectories,
            scene: self.scene.clone(),
            features: learnsim_data::features_of(splits),
        };
        metadata
            .validate()
            .with_context(|| format!("generated data of {} gave invalid metadata", case.name()))?;
        Ok(metadata)
    }
}

fn summary(case: Case, out: &std::path::Path, m: &Metadata, seconds: f64) -> String {
    format!(
        "{}: wrote {} train / {} valid / {} test trajectories of {} frames (up to {} particles) to {} in {seconds:.1} s",
        case.name(),
        m.num_trajectories[0],
        m.num_trajectories[1],
        m.num_trajectories[2],
        m.sequence_length_train + 1,
        m.num_particles_max,
        out.display()
    )
}
