//! `learnsim`: ground-truth datasets, learned simulators, one evaluation protocol, reports and a
//! leaderboard.

mod bench;
mod burgers_case;
mod chain_case;
mod convert;
mod cosmo_case;
mod generate;
mod glass_case;
mod gns_kernel;
mod hit_case;
mod kolmogorov_case;
mod leaderboard;
mod nanophotonics_case;
mod nbody_case;
mod object_case;
mod pendulum_case;
mod plasma_case;
mod plasma_plots;
mod plots;
mod render;
mod report;
mod rope_case;
mod run;
mod run_folder;
mod schnet_case;
mod side_by_side;
mod sinkhorn_bench;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use learnsim_sim::{Case, Tier};
use std::path::PathBuf;

/// Learned simulation: ground truth, datasets, learned simulators, one benchmark protocol.
#[derive(Debug, Parser)]
#[command(name = "learnsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a case's ground truth and write {train,valid,test}.h5 + metadata.json.
    Generate(generate::GenerateArgs),
    /// List every registered case with a one-line description.
    Cases,
    /// Convert a dataset between learnsim, DeepMind (TFRecord), geoelements (NPZ) and
    /// LagrangeBench (HDF5).
    Convert(convert::ConvertArgs),
    /// Train a GNS on a dataset; resumes from RUN/checkpoint if present.
    Train(run::TrainArgs),
    /// Roll a trained GNS and the baselines out over a split; prints metrics as JSON.
    Rollout(run::RolloutArgs),
    /// The whole pipeline: generate -> train -> rollout -> evaluate -> RUN/metrics.json,
    /// report.md, plots, renders, and a leaderboard row.
    Run(run::RunArgs),
    /// Re-evaluate a finished run: metrics.json, report.md, plots, renders, leaderboard row.
    Eval(run::EvalArgs),
    /// Render test trajectory 0 of a run: side-by-side GIF and/or VTK for ParaView.
    Render(run::RenderArgs),
    /// Print the leaderboard of every recorded run, one table per case.
    Leaderboard(LeaderboardArgs),
    /// Measure speed.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Particle-steps per second of every ground-truth simulator at CPU tier.
    Sim(bench::SimBenchArgs),
    /// Run the benchmark suite (`learnsim run` per case) and print the leaderboard.
    Cases(bench::CasesBenchArgs),
    /// The GNS kernel benchmark of the JAX reference (GNS-10-128, N 1000, E 20 000): first
    /// losses, then `RESULT train|infer: ...` and `peak_rss_mb` in the reference's format.
    GnsKernel(gns_kernel::GnsKernelArgs),
    /// The evaluation's Sinkhorn divergence at N = 500, 2,000 and 8,000 (2D and 3D, open and
    /// periodic), timed against the dense solver it replaced; scripts/bench_sinkhorn.sh adds
    /// POT.
    Sinkhorn(sinkhorn_bench::SinkhornBenchArgs),
}

#[derive(Debug, clap::Args)]
struct LeaderboardArgs {
    /// Folder holding the runs and their leaderboard.sqlite.
    #[arg(long, default_value = "runs")]
    root: PathBuf,
    /// Only this case.
    #[arg(long)]
    case: Option<String>,
    /// Table format.
    #[arg(long, value_enum, default_value_t = leaderboard::Format::Md)]
    format: leaderboard::Format,
}

/// Problem size.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TierArg {
    /// Minutes on two cores.
    Cpu,
    /// The published datasets' sizes.
    Paper,
}

impl From<TierArg> for Tier {
    fn from(t: TierArg) -> Self {
        match t {
            TierArg::Cpu => Tier::Cpu,
            TierArg::Paper => Tier::Paper,
        }
    }
}

/// The object cases, which `learnsim run` dispatches by name: (name, description).
pub const OBJECT_CASES: [(&str, &str); 12] = [
    (nbody_case::NAME, nbody_case::DESCRIPTION),
    (chain_case::NAME, chain_case::DESCRIPTION),
    (schnet_case::NAME, schnet_case::DESCRIPTION),
    (glass_case::NAME, glass_case::DESCRIPTION),
    (nanophotonics_case::NAME, nanophotonics_case::DESCRIPTION),
    (pendulum_case::NAME, pendulum_case::DESCRIPTION),
    (rope_case::NAME, rope_case::DESCRIPTION),
    (hit_case::NAME, hit_case::DESCRIPTION),
    (burgers_case::NAME, burgers_case::DESCRIPTION),
    (cosmo_case::NAME, cosmo_case::DESCRIPTION),
    (kolmogorov_case::NAME, kolmogorov_case::DESCRIPTION),
    (plasma_case::NAME, plasma_case::DESCRIPTION),
];

/// Every case name `learnsim run` takes: the particle registry, then the object cases.
pub fn all_case_names() -> Vec<&'static str> {
    Case::ALL
        .iter()
        .map(|c| c.name())
        .chain(OBJECT_CASES.iter().map(|c| c.0))
        .collect()
}

fn unknown_case(name: &str) -> anyhow::Error {
    let closest = all_case_names()
        .into_iter()
        .min_by_key(|c| strsim::levenshtein(c, name))
        .unwrap_or_default();
    anyhow::anyhow!(
        "unknown case `{name}`; did you mean `{closest}`? (`learnsim cases` lists them all)"
    )
}

/// Looks a particle case up by name, suggesting the closest registered name on a miss.
pub fn find_case(name: &str) -> Result<Case> {
    Case::from_name(name).ok_or_else(|| unknown_case(name))
}

/// Checks that `learnsim run` knows `name` (a particle or an object case).
pub fn check_case_name(name: &str) -> Result<()> {
    if all_case_names().contains(&name) {
        Ok(())
    } else {
        Err(unknown_case(name))
    }
}

#[expect(clippy::print_stdout, reason = "the CLI's job is to print")]
fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate(args) => {
            let summary = generate::run(&args)?;
            println!("{summary}");
        }
        Command::Convert(args) => println!("{}", convert::convert(&args)?),
        Command::Train(args) => println!("{}", run::train_command(&args)?),
        Command::Run(args) => println!("{}", run::run(&args)?),
        Command::Rollout(args) => println!("{}", run::rollout_command(&args)?),
        Command::Eval(args) => println!("{}", run::eval_command(&args)?),
        Command::Render(args) => println!("{}", run::render_command(&args)?),
        Command::Leaderboard(args) => {
            let db = args.root.join(leaderboard::FILE);
            print!(
                "{}",
                leaderboard::table(&db, args.case.as_deref(), args.format)?
            );
        }
        Command::Cases => {
            let width = all_case_names().iter().map(|n| n.len()).max().unwrap_or(0);
            for case in Case::ALL {
                println!("{:width$}  {}", case.name(), case.description());
            }
            for (name, description) in OBJECT_CASES {
                println!("{name:width$}  {description}");
            }
        }
        Command::Bench { what } => match what {
            BenchCommand::Sim(args) => {
                let report = bench::sim(&args).context("simulator benchmark failed")?;
                println!("{report}");
            }
            BenchCommand::Cases(args) => print!("{}", bench::cases(&args)?),
            BenchCommand::GnsKernel(args) => println!("{}", gns_kernel::run(&args)?),
            BenchCommand::Sinkhorn(args) => print!("{}", sinkhorn_bench::run(&args)?),
        },
    }
    Ok(())
}

/// Where datasets go when `--out` is not given.
pub fn default_out(case: Case) -> PathBuf {
    PathBuf::from("data").join(case.name())
}
