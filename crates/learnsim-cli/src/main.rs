//! `learnsim`: ground-truth datasets, learned simulators, one evaluation protocol, reports and a
//! leaderboard.

mod bench;
mod gns_kernel;
#[cfg(feature = "mpi")]
mod mpi_group;
mod sinkhorn_bench;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use learnsim_cases::particle;
use learnsim_cases::{leaderboard, registry};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set on the ranks other than 0 of a data-parallel job: rank 0 alone prints the result.
static SILENT: AtomicBool = AtomicBool::new(false);

/// Learned simulation: ground truth, datasets, learned simulators, one benchmark protocol.
#[derive(Debug, Parser)]
#[command(name = "learnsim", version, about)]
struct Cli {
    /// Print the result as JSON on stdout: `run` and `eval` the run's metrics.json (with
    /// `run` and `summary` added), `cases` the registry, the others `{"summary": ...}`.
    #[arg(long, global = true)]
    json: bool,
    /// Say nothing while working (no progress bars, step lines or notes); warnings, errors
    /// and the result still show.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say more while working: step lines beside the progress bars, the resolved config.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a case's ground truth: a particle case's {train,valid,test}.h5 + metadata.json,
    /// a grid case's HDF5 files in The Well's format.
    Generate(learnsim_cases::GenerateArgs),
    /// Join the shards that `generate CASE --shard I/N --out DIR` wrote into DIR's dataset
    /// ({train,valid,test}.h5 + metadata.json), the same bytes one process would write.
    Merge {
        /// The folder holding every shard.
        dir: PathBuf,
    },
    /// List every registered case with a one-line description.
    Cases,
    /// Convert a dataset between learnsim, DeepMind (TFRecord), geoelements (NPZ) and
    /// LagrangeBench (HDF5).
    Convert(learnsim_cases::convert::ConvertArgs),
    /// Train a GNS on a dataset; resumes from RUN/checkpoint if present.
    Train(particle::TrainArgs),
    /// Roll a trained GNS and the baselines out over a split; prints metrics as JSON.
    Rollout(particle::RolloutArgs),
    /// The whole pipeline: generate -> train -> rollout -> evaluate -> RUN/metrics.json,
    /// report.md, plots, renders, and a leaderboard row.
    Run {
        #[command(flatten)]
        args: learnsim_cases::RunArgs,
        /// Exit with status 3 when a bar fails (the run is still written and recorded).
        #[arg(long)]
        strict: bool,
    },
    /// Print a shell completion script: `learnsim completions bash > /etc/bash_completion.d/learnsim`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Score rollouts made by any code (DeepMind's or LagrangeBench's pickles, an .npz/.h5
    /// array) under a particle case's protocol and bars: metrics.json, report.md, plot and a
    /// leaderboard row.
    Score(particle::ScoreArgs),
    /// Re-evaluate a finished run from its checkpoints: metrics.json, report.md, plots, renders,
    /// leaderboard row (particle runs, and the cases whose networks checkpoint).
    Eval(particle::EvalArgs),
    /// Render test trajectory 0 of a particle run (side-by-side GIF, VTK for ParaView, DeepMind's
    /// pickle), or redraw the figures of another case's run from its checkpoints.
    Render(particle::RenderArgs),
    /// Print the leaderboard of every recorded run, one table per case.
    Leaderboard(LeaderboardArgs),
    /// Browse the runs and the leaderboard in a browser: `learnsim view` serves ROOT (default
    /// runs/) on http://127.0.0.1:8765/; `--export RUN OUT.html` writes one run's page as one
    /// file.
    View(learnsim_view::ViewArgs),
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

/// The exit status of `learnsim run --strict` when the run finished but a bar failed (1 is an
/// error, 2 a command line clap refused).
const BARS_FAILED: i32 = 3;

/// Whether the finished run in `dir` passed every bar, from its metrics.json.
fn run_passed(dir: &std::path::Path) -> Result<bool> {
    let path = dir.join("metrics.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("--strict: cannot read {}", path.display()))?;
    let record: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--strict: {} is not JSON", path.display()))?;
    Ok(record["pass"].as_bool() == Some(true))
}

/// How many processes a launcher started beside this one (`mpirun`, MPICH's hydra, `srun`),
/// from the environment it gives them: the variable and the count, when more than one.
fn launched_processes() -> Option<(&'static str, usize)> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"]
        .into_iter()
        .find_map(|var| {
            let n = std::env::var(var).ok()?.parse::<usize>().ok()?;
            (n > 1).then_some((var, n))
        })
}

/// Refuses to train when a launcher started several processes but they do not form one MPI
/// world of as many ranks: each would train its own copy into the same run folder.
fn check_launch(ranks: usize) -> Result<()> {
    if let Some((var, n)) = launched_processes()
        && n != ranks
    {
        let fix = if cfg!(feature = "mpi") {
            "start it with `mpirun`, or `srun --mpi=pmix`, so that the processes join one MPI world"
        } else {
            "this learnsim was built without MPI: build it with `cargo build --release -p learnsim-cli --features mpi` (docs/cluster.md)"
        };
        anyhow::bail!(
            "this is one of {n} processes the launcher started ({var}={n}), but its MPI world has {ranks} rank(s), so each would train its own copy into the same run folder; {fix}"
        );
    }
    Ok(())
}

/// Writes `text` and a newline to stdout; a closed pipe (`learnsim cases | head`) ends the
/// program quietly instead of panicking.
fn emit(text: &str) {
    emit_raw(&format!("{text}\n"));
}

/// Writes `text` to stdout as [`emit`] does, without a newline.
#[expect(clippy::print_stderr, reason = "stdout itself failed")]
fn emit_raw(text: &str) {
    use std::io::Write;
    if SILENT.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("Error: cannot write the result to stdout: {e}");
        std::process::exit(1);
    }
}

#[expect(
    clippy::print_stderr,
    reason = "a rank's error, printed before MPI_Abort ends the job"
)]
fn main() -> Result<()> {
    // Under `mpirun` (built with `--features mpi`) this process is one rank of a data-parallel
    // job; otherwise it is a group of one.
    #[cfg(feature = "mpi")]
    let universe = mpi_group::start()?;
    let world = learnsim_train::distributed::world();
    let root = world.rank() == 0;
    SILENT.store(!root, Ordering::Relaxed);
    let result = dispatch(Cli::parse(), root);
    if let Err(e) = &result
        && world.size() > 1
    {
        // The other ranks may be waiting in a collective for this one: end them all.
        eprintln!("Error on rank {} of {}: {e:?}", world.rank(), world.size());
        world.abort(1);
    }
    #[cfg(feature = "mpi")]
    drop(universe);
    result
}

#[expect(clippy::print_stderr, reason = "says why --strict exits with status 3")]
fn dispatch(cli: Cli, root: bool) -> Result<()> {
    let json = cli.json;
    learnsim_cases::progress::set(if cli.quiet || !root {
        learnsim_cases::progress::Verbosity::Quiet
    } else if cli.verbose {
        learnsim_cases::progress::Verbosity::Verbose
    } else {
        learnsim_cases::progress::Verbosity::Normal
    });
    // A command's one-line result, or with --json its JSON.
    let say = |summary: String| {
        if json {
            emit(&format!("{}", serde_json::json!({ "summary": summary })));
        } else {
            emit(&summary);
        }
    };
    // A run's result: its metrics.json with the folder and the summary, under --json.
    let say_run = |summary: String, dir: &std::path::Path| -> Result<()> {
        if !root {
            return Ok(());
        }
        if json {
            let text = std::fs::read_to_string(dir.join("metrics.json"))
                .with_context(|| format!("cannot read {}", dir.join("metrics.json").display()))?;
            let mut record: serde_json::Value = serde_json::from_str(&text)?;
            record["run"] = serde_json::json!(dir.display().to_string());
            record["summary"] = serde_json::json!(summary);
            emit(&record.to_string());
        } else {
            emit(&summary);
        }
        Ok(())
    };
    if matches!(cli.command, Command::Train(_) | Command::Run { .. }) {
        check_launch(learnsim_train::distributed::world().size())?;
    }
    match cli.command {
        Command::Generate(args) => say(learnsim_cases::generate(&args)?),
        Command::Merge { dir } => say(particle::shard::merge(&dir)?),
        Command::Convert(args) => say(learnsim_cases::convert::convert(&args)?),
        Command::Train(args) => say(particle::train_command(&args)?),
        Command::Run { args, strict } => {
            let dir = args.out_dir(&args.case);
            say_run(learnsim_cases::run(&args)?, &dir)?;
            if strict && root && !run_passed(&dir)? {
                eprintln!("--strict: a bar failed (see the report); exit status 3");
                std::process::exit(BARS_FAILED);
            }
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "learnsim", &mut script);
            emit_raw(&String::from_utf8_lossy(&script));
        }
        Command::Rollout(args) => emit(&particle::rollout_command(&args)?),
        Command::Score(args) => {
            let (summary, dir) = particle::score_command(&args)?;
            say_run(summary, &dir)?;
        }
        Command::Eval(args) => say_run(particle::eval_command(&args)?, &args.run)?,
        Command::Render(args) => say(particle::render_command(&args)?),
        Command::View(args) => say(learnsim_view::view_command(&args)?),
        Command::Leaderboard(args) => {
            let db = args.root.join(leaderboard::FILE);
            let table = leaderboard::table(&db, args.case.as_deref(), args.format)?;
            if json {
                emit(&format!("{}", serde_json::json!({ "summary": table })));
            } else {
                emit_raw(&table);
            }
        }
        Command::Cases => {
            let cases = registry();
            if json {
                let list: Vec<serde_json::Value> = cases
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "name": c.name(),
                            "kind": c.kind().name(),
                            "description": c.description(),
                        })
                    })
                    .collect();
                emit(&format!("{}", serde_json::Value::Array(list)));
                return Ok(());
            }
            let width = cases.iter().map(|c| c.name().len()).max().unwrap_or(0);
            for case in cases {
                emit(&format!(
                    "{:width$}  {:9}  {}",
                    case.name(),
                    case.kind().name(),
                    case.description()
                ));
            }
        }
        Command::Bench { what } => match what {
            BenchCommand::Sim(args) => {
                let report = bench::sim(&args).context("simulator benchmark failed")?;
                emit(&report.to_string());
            }
            BenchCommand::Cases(args) => emit_raw(&bench::cases(&args)?),
            BenchCommand::GnsKernel(args) => emit(&gns_kernel::run(&args)?),
            BenchCommand::Sinkhorn(args) => emit_raw(&sinkhorn_bench::run(&args)?),
        },
    }
    Ok(())
}
