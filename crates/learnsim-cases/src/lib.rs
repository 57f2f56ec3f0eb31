//! learnsim's benchmark cases as a library: one folder per case, one [`registry`], and the
//! pieces every case's run shares (the run folder, reports, plots, renders, the leaderboard).
//!
//! A case is the unit a user thinks in (`water-drop-2d`, `kolmogorov-2d`, …): a ground truth,
//! a learned simulator, a protocol and its bars. Each implements [`Case`]; `learnsim run CASE`
//! is [`run`], which finds the case in the registry. Adding a case is one folder, one line in
//! [`registry`] and one `configs/CASE.toml` (ARCHITECTURE.md walks through it).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let case = learnsim_cases::find("nbody-2d")?;
//! let args = learnsim_cases::RunArgs::new(case.name()).quick();
//! println!("{}", case.run(&args)?);
//! # Ok(())
//! # }
//! ```

pub mod bars;
pub mod configs;
pub mod convert;
pub mod data_file;
pub mod leaderboard;
pub mod particle;
pub mod playback;
pub mod plots;
pub mod progress;
pub mod render;
pub mod report;
pub mod request;
mod rerun;
pub mod run_folder;
pub mod runner;
mod side_by_side;

pub mod burgers_2d;
pub mod glass_ka;
pub mod hit_3d;
pub mod kolmogorov_2d;
pub mod nanophotonics;
pub mod nbody_2d;
pub mod pendulum_mpc;
pub mod plasma_1d;
pub mod pm_cosmo;
pub mod rope_koopman;
pub mod schnet_si;
pub mod spring_chain;

pub use bars::{PassIf, bar};
pub use particle::generate::GenerateArgs;
pub use request::{RunArgs, TierArg};
pub use rerun::rescore;

use anyhow::Result;
use std::path::PathBuf;

/// What a case's learned simulator steps: the kind decides which commands and viewers apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// Particles with a GNS: positions in, accelerations out (water, sand, goop, SPH).
    Particle,
    /// Bodies, atoms or masses with a graph network (n-body, spring chain, SchNet, glass).
    Object,
    /// Fields on a grid (PDE-Net, TF-Net, U-Nets, learned field solvers).
    Grid,
    /// A learned model used to control (MPC through a GN, Koopman control of a rope).
    Control,
    /// A surrogate of a simulator's input → output map, and design through it.
    Surrogate,
}

impl CaseKind {
    /// The name `learnsim cases` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Particle => "particle",
            Self::Object => "object",
            Self::Grid => "grid",
            Self::Control => "control",
            Self::Surrogate => "surrogate",
        }
    }
}

/// How many processes a case's training can run on (`mpirun -np K learnsim run CASE`, issue #26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranks {
    /// One process: under a launcher with K > 1 ranks, `learnsim run` refuses the case.
    One,
    /// Data-parallel on K ranks: each rank trains on its part of every global batch, rank 0
    /// writes the run folder (docs/cluster.md).
    Many,
}

/// One benchmark case. `run` is the whole pipeline into a run folder (generate → train →
/// evaluate → metrics.json, report.md, plots, the leaderboard row) and returns a one-line
/// summary.
pub trait Case: Sync {
    /// The registry name (`learnsim run NAME`).
    fn name(&self) -> &'static str;
    /// One line for `learnsim cases`.
    fn description(&self) -> &'static str;
    /// What the learned simulator steps.
    fn kind(&self) -> CaseKind;
    /// Whether its training runs data-parallel on several ranks.
    fn ranks(&self) -> Ranks;
    /// `learnsim run`: the whole pipeline into `args`' run folder. Every network a case trains
    /// checkpoints there, so a rerun on the same folder resumes it (and a finished run is
    /// re-scored without training: `learnsim eval --run`).
    fn run(&self, args: &RunArgs) -> Result<String>;
    /// `learnsim generate`: the case's data, written where `args` says.
    fn generate(&self, args: &GenerateArgs) -> Result<String>;
}

/// A case whose pipeline is one function over its run arguments (the object, grid, control
/// and surrogate cases).
#[derive(Debug, Clone, Copy)]
pub struct Pipeline {
    /// The registry name.
    pub name: &'static str,
    /// One line for `learnsim cases`.
    pub description: &'static str,
    /// What the learned simulator steps.
    pub kind: CaseKind,
    /// Whether its training runs data-parallel on several ranks.
    pub ranks: Ranks,
    /// The whole pipeline.
    pub run: fn(&RunArgs) -> Result<String>,
    /// The data stage alone (`learnsim generate`): the grid cases' Well files, the others' numpy
    /// archives ([`data_file`]).
    pub generate: fn(&GenerateArgs) -> Result<String>,
}

impl Case for Pipeline {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn kind(&self) -> CaseKind {
        self.kind
    }

    fn ranks(&self) -> Ranks {
        self.ranks
    }

    fn run(&self, args: &RunArgs) -> Result<String> {
        (self.run)(args)
    }

    fn generate(&self, args: &GenerateArgs) -> Result<String> {
        (self.generate)(args)
    }
}

static WATER_DROP_2D: particle::Particle = particle::Particle(learnsim_sim::Case::WaterDrop2d);
static SAND_2D: particle::Particle = particle::Particle(learnsim_sim::Case::Sand2d);
static GOOP_2D: particle::Particle = particle::Particle(learnsim_sim::Case::Goop2d);
static TGV_2D: particle::Particle = particle::Particle(learnsim_sim::Case::Tgv2d);
static DAM_BREAK_2D: particle::Particle = particle::Particle(learnsim_sim::Case::DamBreak2d);
static BOXBATH_2D: particle::Particle = particle::Particle(learnsim_sim::Case::BoxBath2d);

/// Every case, in the order `learnsim cases` lists them: the particle cases, then the others.
pub fn registry() -> [&'static dyn Case; 18] {
    [
        &WATER_DROP_2D,
        &SAND_2D,
        &GOOP_2D,
        &TGV_2D,
        &DAM_BREAK_2D,
        &BOXBATH_2D,
        &nbody_2d::CASE,
        &spring_chain::CASE,
        &schnet_si::CASE,
        &glass_ka::CASE,
        &nanophotonics::CASE,
        &pendulum_mpc::CASE,
        &rope_koopman::CASE,
        &hit_3d::CASE,
        &burgers_2d::CASE,
        &pm_cosmo::CASE,
        &kolmogorov_2d::CASE,
        &plasma_1d::CASE,
    ]
}

/// Every registered case's name.
pub fn case_names() -> Vec<&'static str> {
    registry().iter().map(|c| c.name()).collect()
}

/// The error for a name no case has, with the closest registered name.
fn unknown_case(name: &str) -> anyhow::Error {
    let closest = case_names()
        .into_iter()
        .min_by_key(|c| strsim::levenshtein(c, name))
        .unwrap_or_default();
    anyhow::anyhow!(
        "unknown case `{name}`; did you mean `{closest}`? (`learnsim cases` lists them all)"
    )
}

/// The registered case called `name`, suggesting the closest name on a miss.
pub fn find(name: &str) -> Result<&'static dyn Case> {
    registry()
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| unknown_case(name))
}

/// The particle scene called `name`, for the commands that take particle cases only
/// (`generate`, `train`, `rollout`, `eval`, `render`); a registered case of another kind is
/// refused with what to run instead.
pub fn find_particle(name: &str) -> Result<learnsim_sim::Case> {
    if let Some(scene) = learnsim_sim::Case::from_name(name) {
        return Ok(scene);
    }
    let case = find(name)?;
    anyhow::bail!(
        "`{name}` is a{} {} case: this command takes the particle cases only ({}); `learnsim run {name}` generates, trains, scores and renders it",
        if case.kind() == CaseKind::Object {
            "n"
        } else {
            ""
        },
        case.kind().name(),
        learnsim_sim::Case::ALL.map(|c| c.name()).join(", ")
    )
}

/// `learnsim run`: the case's whole pipeline.
pub fn run(args: &RunArgs) -> Result<String> {
    let case = find(&args.case)?;
    let ranks = learnsim_train::distributed::world().size();
    if ranks > 1 && case.ranks() == Ranks::One {
        let many: Vec<&str> = registry()
            .into_iter()
            .filter(|c| c.ranks() == Ranks::Many)
            .map(|c| c.name())
            .collect();
        anyhow::bail!(
            "{} trains on one process; data-parallel training on {ranks} ranks covers {} (issue #26). Run it without mpirun",
            case.name(),
            many.join(", ")
        );
    }
    case.run(args)
}

/// `learnsim generate`: the case's data.
pub fn generate(args: &GenerateArgs) -> Result<String> {
    find(&args.case)?.generate(args)
}

/// Where a particle case's dataset goes when `--out` is not given.
pub fn default_out(case: learnsim_sim::Case) -> PathBuf {
    PathBuf::from("data").join(case.name())
}
